"""Sphinx settings of the course's book (book/build.py copies this file into the generated sources)."""
project = "Deep-learning phenomena and data-centric ML"
author = "the course's authors"
extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# the notebooks come executed (lectures, at the class scale) or are shown as students get them (exercises)
nb_execution_mode = "off"
nb_output_stderr = "remove"
nb_merge_streams = True
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["labkit-book.css"]
html_favicon = "_static/favicon.svg"  # else every browser asks for a /favicon.ico that is not there
html_theme_options = {"home_page_in_toc": True, "use_download_button": False, "use_fullscreen_button": False,
                      "show_toc_level": 2}
html_context = {"default_mode": "light"}  # else the theme logs an error on a reader's first visit
html_last_updated_fmt = None
html_copy_source = False
