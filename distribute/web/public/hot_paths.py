"""The open pixel and the click redirect, answered before Flask when all is well.

These two are nearly all of the web app's traffic (every open, every click, mail scanners
fetching every link), and Flask's routing, request and response objects and request hooks cost
several times what the answer does. So a plain WSGI callable in front of the Flask app answers a
GET of a valid pixel, and a GET of a valid click whose campaign's links are already cached, with
the same status, headers and body the Flask views give (distribute.web.public.tracking_views,
whose functions it calls), and hands everything else to Flask unchanged: a HEAD, a bad token, a
link not cached yet, a path with a NUL, a chunked body.
"""

from __future__ import annotations

from typing import Callable, Iterable

from markupsafe import escape

from distribute.web.public import tracking_views as views

_PIXEL_HEADERS = [("Content-Type", "image/gif"), ("Content-Length", str(len(views.PIXEL))),
                  ("Cache-Control", views.PIXEL_CACHE_CONTROL)]


class HotPaths:
    def __init__(self, app: Callable, web, security_headers: list[tuple[str, str]]):
        self.app, self.web = app, web
        # The app's own headers (distribute.web.app.security_headers), less the Cache-Control the
        # pixel sets itself; a redirect gets the app's.
        self._pixel_headers = _PIXEL_HEADERS + [h for h in security_headers if h[0] != "Cache-Control"]
        self._security_headers = security_headers

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if (environ.get("REQUEST_METHOD") == "GET" and "\x00" not in path
                and "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower()):
            if path.startswith("/o/") and path.endswith(".gif"):
                token = path[3:-4]
                if token and "/" not in token:
                    views.record_open(self.web, token, environ.get("HTTP_USER_AGENT"), environ.get("REMOTE_ADDR"))
                    start_response("200 OK", list(self._pixel_headers))
                    return [views.PIXEL]
            elif path.startswith("/c/") and "/" not in path[3:] and len(path) > 3:
                target = views.click_target(self.web, path[3:], load=False)
                if target is not None:
                    views.record_click(self.web, target, environ.get("HTTP_USER_AGENT"), environ.get("REMOTE_ADDR"))
                    return self._redirect(target.url, start_response)
        return self.app(environ, start_response)

    def _redirect(self, url: str, start_response: Callable) -> Iterable[bytes]:
        # What werkzeug.utils.redirect(url, 302) answers, byte for byte.
        shown = escape(url)
        body = ("<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"
                "<p>You should be redirected automatically to the target URL: "
                f'<a href="{shown}">{shown}</a>. If not, click the link.\n').encode("utf-8")
        start_response("302 FOUND", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                                     ("Location", url), *self._security_headers])
        return [body]
