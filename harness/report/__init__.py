"""Run results and the reports written from them."""
