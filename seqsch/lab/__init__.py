"""The notebook side: the headless notebook runner, figure helpers and the widget panel."""
