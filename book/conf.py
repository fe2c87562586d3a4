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
myst_enable_extensions = ["dollarmath"]  # $...$ in the lectures' text
# MathJax from the site itself (book/build.py copies jupyter-server-mathjax's files), never from a CDN
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
# the one font that package ships; myst-nb marks notebook pages "mathjax_ignore" except the math itself
# (and its probe font, loaded from about:blank, which Chromium reports as an error)
mathjax2_config = {"HTML-CSS": {"availableFonts": ["STIX-Web"], "preferredFont": "STIX-Web", "webFont": "STIX-Web",
                                "imageFont": None,
                                "styles": {"@font-face": {"font-family": "MathJax_Blank", "src": "local('MathJax_Blank')"}}},
                   "tex2jax": {"ignoreClass": "tex2jax_ignore|mathjax_ignore", "processClass": "math|output_area"}}
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
