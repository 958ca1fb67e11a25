"""The monthly sales report: one data object from the public marts (data.py), HTML (render.py), PDF (pdf.py)."""
