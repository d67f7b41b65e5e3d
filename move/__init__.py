"""`make move`: move an app's PostgreSQL database between two servers (Heroku, a cluster, any two), verified.

The phases, in order (`move.run`): preflight (`move.preflight`, which changes nothing), stop writes on the source
(`move.guard`, and with stacks the app itself: `move.stacks`), copy the schema (`move.schema`) and the data
(`move.copy`), verify both sides (`move.verify`: a gate, not a report), cut over. `--online` copies while the
source still takes writes, capturing every change with triggers (`move.capture`), so that writes stop only for the
last changes. The move's own state lives in a schema of its own on both servers (`move.journal`), so a killed
move resumes where it stopped, and `--revert` knows what to give back.
"""
