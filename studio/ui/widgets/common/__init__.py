"""Widgets more than one panel uses: banners, empty states, job status, the audio player, the model picker, run rows."""
