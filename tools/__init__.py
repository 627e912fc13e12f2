"""The course's own tooling, not part of the installed package: the book's equation index
(``equations``), Chromium driving for the browser tests (``browser``) and the PDF print (``book_pdf``)."""
