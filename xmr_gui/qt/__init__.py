"""The thin Qt layer: widgets that present xmr_gui.core; all logic stays in the core."""
