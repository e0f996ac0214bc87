"""Generation from trained models, without Qt: the Image canvas and the Text writer run these jobs in a
worker, and ``aigc-studio generate image|text`` runs them headless.

Images (GANs and VAEs):
    image_model    load a run's checkpoint (EMA weights first); deterministic latents; uint8 pixels out
    animation      slerp latent walks with easing and loop; looping GIFs
    png_settings   PNGs with their settings in text chunks; read_settings; regenerate
    jobs           GenerateGrid, GenerateVariations, MakeLatentWalk, ExportImages, ReconstructImages, Morph,
                   OpenPng (read a PNG's settings and regenerate it)
Text (GPT and LSTM writers):
    text_model     load a text run (its tokenizer.json and newest checkpoint); KV-cached context
    sampling       temperature, top-k/p, repetition penalty, stop sequences, banned and required words
    text_jobs      GenerateText: streams pieces per variant, cancellable per token
    templates      product description, ad slogan, social post, customer-service reply, news brief

Cheap to import: torch loads when a model does.
"""
