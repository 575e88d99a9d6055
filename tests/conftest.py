"""Unit tests draw figures off-screen and run with the course's fixed thread count."""

import matplotlib

matplotlib.use("Agg")
