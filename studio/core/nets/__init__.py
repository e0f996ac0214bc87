"""Networks the training recipes and the generation code share (torch only, no studio imports).

``gan``: a DCGAN-style generator and discriminator (32 to 256 px, optional class conditioning) and the
GAN losses; ``vae``: a convolutional VAE; ``gpt``: a decoder-only transformer with a KV cache; ``lstm``: a
small LSTM language model; ``tts``: a phoneme Tacotron 2 with guided attention; ``vocoder``: a small
HiFi-GAN. Each rebuilds from a run's ``describe()`` dict (``build_generator``, ``build_vae``, ``build_gpt``,
``build_lstm``, ``build_tts``, ``vocoder.build_generator``), so sampling a trained model never needs its
dataset.
"""
