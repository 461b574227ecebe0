"""The embedded backend: files, SQLite and a JSON config file under CMS_DATA_DIR."""
