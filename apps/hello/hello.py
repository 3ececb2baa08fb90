"""hello: answers ``Hello`` on GET / (and ``ok`` on GET /health), port 8080 or $PORT."""

from __future__ import annotations

from serve import Response, serve, text

NAME = "hello"


def answer() -> Response:
    return text("Hello")


ROUTES = {"/": answer}


def main() -> None:
    serve(NAME, ROUTES)


if __name__ == "__main__":
    main()
