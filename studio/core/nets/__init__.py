"""Networks the training recipes and the generation code share (torch only, no studio imports but each other).

Each module reads like nanoGPT's model.py: a config dataclass, the nn.Modules, the ``@torch.no_grad()`` sampling
method, comments that give tensor shapes and the reason for a choice. ``gan``: a DCGAN-style generator and
discriminator (32 to 256 px, optional class conditioning) and the GAN losses; ``vae``: a convolutional VAE;
``gpt``: a decoder-only transformer with a KV cache; ``lstm``: a small LSTM language model; ``tts``: a phoneme
Tacotron 2 with guided attention; ``vocoder``: a small HiFi-GAN; ``autoencoder``: the reference family's tiny
autoencoder. Shared by all of them: ``config`` (the config base class: keyword-only fields, and how a saved
description, old ones included, becomes a config again) and ``image_sizes`` (the picture sizes and channel rule
of the image networks; torch-free, the image cache reads it too).

Every network takes exactly its config (``Generator(GeneratorConfig(resolution=64))``) and rebuilds from a run's
``describe()`` dict (``gan.build_generator``, ``vae.build_vae``, ``gpt.build_gpt``, ``lstm.build_lstm``,
``tts.build_tts``, ``vocoder.build_generator``), so sampling a trained model never needs its dataset.
"""
