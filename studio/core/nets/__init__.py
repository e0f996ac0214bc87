"""Image networks the training recipes and the generation code share (torch only, no studio imports).

``gan``: a DCGAN-style generator and discriminator (32 to 256 px, optional class conditioning) and the
GAN losses; ``vae``: a convolutional VAE. Both rebuild from a run's ``describe()`` dict
(:func:`gan.build_generator`, :func:`vae.build_vae`), so sampling a trained model never needs its dataset.
"""
