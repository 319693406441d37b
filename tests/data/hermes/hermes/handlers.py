"""What a worker does with a message: store it as a note."""
from hermes import db


def store(body):
    db.add_note(str(body))
