"""The ceiling: Flask's "hello world", served by the same server and settings as the app (`make bench` only)."""

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def hello() -> str:
        return "Hello, World!"

    return app


app = create_app()  # for gunicorn: hello_app:app
