# The seed's stack, for the reference rows of the comparison: a Flask app served
# by gunicorn (sync workers), alone or behind the same nginx config. It answers
# GET / with the same small JSON as the sample app's GET / (app/src/routes/info.ts)
# and GET /healthz; nothing else is needed for the scenarios it runs.
#
#   gunicorn -w 2 -b 127.0.0.1:8000 --chdir loadtest/reference flask_app:app
import os

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(hello="world", pid=os.getpid())


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
