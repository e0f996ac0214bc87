"""Widgets of the Canvas panel: the generation controls, the image grid, the enlarged and compare views, the latent
walk.
"""
