"""The public transparency page: ``/publik`` (HTML), ``/publik.json``, ``/publik.csv`` and the
printable SKM publication ``/publik/skm/<unit>`` (:mod:`bot.publik.public_route`,
:mod:`bot.publik.public_html`)."""
