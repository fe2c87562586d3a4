"""The course as a website (``make book``): see :mod:`book.build`."""
