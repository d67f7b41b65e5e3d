"""The baseline: the original article's app, rebuilt only to be measured. Never deploy this.

As the article ran it: Flask's development server with the Werkzeug debugger on, a new database
connection for every request, and `ORDER BY random()`, which sorts the whole table each time.
It listens on 127.0.0.1 only, because the debugger runs code for anyone who can reach it.
"""

import os
import socket

import psycopg
from flask import Flask
from markupsafe import escape

app = Flask(__name__)


@app.route("/")
def index() -> str:
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        rows = conn.execute("SELECT first_name, last_name FROM actor ORDER BY random() LIMIT 5").fetchall()
    names = "".join(f"<li>{escape(first)} {escape(last)}</li>" for first, last in rows)
    return f"<h1>Random actors</h1><ol>{names}</ol><p>Served by {escape(socket.gethostname())}</p>"


if __name__ == "__main__":
    # debug=True as in the article; the reloader would only fork a second copy of the server
    app.run(debug=True, use_reloader=False, host="127.0.0.1", port=int(os.environ["PORT"]))  # noqa: S201
