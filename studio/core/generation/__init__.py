"""Image generation from trained GANs and VAEs: sampling, variations, latent walks, VAE reconstruction and
morphs, and PNG exports that regenerate themselves. No Qt: the Image canvas runs :mod:`.jobs` in a worker,
and ``aigc-studio generate image`` runs them headless.

    image_model    load a run's checkpoint (EMA weights first); deterministic latents; uint8 pixels out
    animation      slerp latent walks with easing and loop; looping GIFs
    png_settings   PNGs with their settings in text chunks; read_settings; regenerate
    jobs           GenerateGrid, GenerateVariations, MakeLatentWalk, ExportImages, ReconstructImages, Morph,
                   OpenPng (read a PNG's settings and regenerate it)

Cheap to import: torch loads when a model does.
"""
