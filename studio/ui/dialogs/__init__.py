"""The window's small dialogs opened from its menus: the keyboard-shortcut sheet and the getting-started guide."""
