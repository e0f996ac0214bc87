"""Speech: the espeak-ng system voice and phonemizer, Piper voices, text splitting, the pronunciation
dictionary, WAV writing and spectrograms. No Qt here; torch only where a trained voice needs it (lazily)."""
