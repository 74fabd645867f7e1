"""Importers (issue 5): Disqus XML, WordPress WXR, Isso SQLite, and our own lossless export.

Readers (`disqus.py`, `wordpress.py`, `isso.py`) stream a file into source records;
`pipeline.run_import` turns them into rows in one transaction, using the set-based SQL in
`rejoinder.storage.bulk`. `rejoinder.py` reads `rejoinder export` files back, ids and all.
The CLI (`cli.py`) is mounted as `rejoinder import`. See docs/import.md.
"""
