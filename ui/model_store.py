"""Saved models: the shared folder data/models/, with safe names and no silent overwrite.

Every session saves into and loads from the same folder, so names are reduced
to a safe file name, writes are atomic (core.modelfile), an existing model is
only replaced when the caller says so, and the shipped default is read-only.

A model's name is its file name without ``.npz``. Names that differ only in
capitals count as the same name (they would be one file on a case-insensitive
file system). Messages name the model, never the folder.
"""
import re
import unicodedata
from pathlib import Path

from core import ModelFileError, Net, modelfile

MODELS_DIR = modelfile.MODELS_DIR
DEFAULT_NAME = "default"
EXTENSION = ".npz"
MAX_NAME_LENGTH = 50  # 50 letters of up to 4 UTF-8 bytes each, plus the temporary-file affixes, fit in 255 bytes
NAME_SYMBOLS = "-_."
ALLOWED_CHARACTERS = "letters, digits, '-', '_' and '.'"
ALLOWED_START = "a letter or a digit"
NAME_HELP = (f"A model name uses {ALLOWED_CHARACTERS}, starting with {ALLOWED_START}, at most {MAX_NAME_LENGTH} "
             f"characters. Spaces become '-', and a final '{EXTENSION}' is dropped.")


def _folder(folder):
    """``folder``, or MODELS_DIR looked up at call time (so tests can point it elsewhere)."""
    return MODELS_DIR if folder is None else Path(folder)


class ModelExistsError(FileExistsError):
    """A model of that name exists; saving again needs the user's confirmation."""


class ModelSaveError(OSError):
    """The server could not write the model file; the message says why, without the path."""


def clean_name(typed):
    """A safe model name from what the user typed, or ValueError saying what is wrong with it.

    Unicode text is NFC-normalised, runs of whitespace become '-', and any final
    '.npz' extensions are dropped (so "x.npz.npz" is the model "x").
    """
    if not isinstance(typed, str) or not typed.strip():
        raise ValueError("Give the model a name.")
    name = _without_extension(re.sub(r"\s+", "-", unicodedata.normalize("NFC", typed.strip())))
    if not name:
        raise ValueError(f"{_quoted(typed.strip())} has no name before '{EXTENSION}'; give the model a name.")
    problem = _name_problem(name)
    if problem:
        raise ValueError(problem)
    if name.lower() == DEFAULT_NAME:
        raise ValueError(f"{_quoted(name)} is the name of the pre-trained model, which cannot be replaced; "
                         "choose another name.")
    return name


def _name_problem(name):
    """What breaks the naming rule in ``name`` (already cleaned), or None."""
    odd = sorted({c for c in name if not (c.isalnum() or c in NAME_SYMBOLS)}, key=name.index)
    if odd:
        return f"{_quoted(name)} contains {_listed(odd)}; a model name uses only {ALLOWED_CHARACTERS}."
    if not name[0].isalnum():
        return f"{_quoted(name)} starts with '{name[0]}'; a model name starts with {ALLOWED_START}."
    if len(name) > MAX_NAME_LENGTH:
        return f"{_quoted(name)} has {len(name)} characters; a model name has at most {MAX_NAME_LENGTH}."
    return None


def _quoted(name, limit=40):
    """``name`` in quotes for a message: shortened, control characters shown as '?'."""
    shown = "".join(c if c.isprintable() else "?" for c in name)
    return f"'{shown[:limit - 1]}…'" if len(shown) > limit else f"'{shown}'"


def _listed(characters):
    """The characters, listed for a message: "'/', '\\' and the invisible character U+0007"."""
    named = [f"'{c}'" if c.isprintable() else f"the invisible character U+{ord(c):04X}"
             for c in characters]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def suggested_name(label):
    """A valid save name derived from a network's label ("my net.npz (uploaded)" → "my-net"), or ""."""
    text = _without_extension(unicodedata.normalize("NFC", re.sub(r"\s*\([^()]*\)$", "", label.strip())))
    text = "".join(c if c.isalnum() or c in NAME_SYMBOLS else "-" for c in text)
    text = re.sub(r"-{2,}", "-", text)
    text = re.sub(r"^[\W_]+", "", text)[:MAX_NAME_LENGTH].rstrip("-.")  # starts with a letter or digit
    return "" if text.lower() == DEFAULT_NAME else text


def _without_extension(text):
    """``text`` without its final '.npz' extensions, in any case."""
    while text.lower().endswith(EXTENSION):
        text = text[:-len(EXTENSION)]
    return text


def model_path(name, folder=None):
    folder = _folder(folder)
    path = (folder / f"{name}{EXTENSION}").resolve()
    if path.parent != folder.resolve():
        raise ValueError("a model name cannot point outside the models folder")
    return path


def _saved_files(folder):
    """{name: file} of the usable model names in ``folder`` (hidden files and odd names left out)."""
    if not folder.is_dir():
        return {}
    files = {}
    for path in folder.glob(f"*{EXTENSION}"):
        name = unicodedata.normalize("NFC", path.name[:-len(EXTENSION)])
        if name and _name_problem(name) is None and path.is_file():
            files[name] = path
    return files


def saved_models(folder=None):
    """Names of the saved models, the default first; each of them loads with load_model."""
    names = sorted(_saved_files(_folder(folder)))
    return sorted(names, key=lambda n: n != DEFAULT_NAME)


def save_model(net, name, overwrite=False, folder=None):
    """Save under a cleaned name; raises ModelExistsError when it exists and overwrite is False."""
    folder = _folder(folder)
    name = clean_name(name)
    _refuse_case_clash(name, folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        net.save(model_path(name, folder), overwrite=overwrite)
    except FileExistsError:
        raise ModelExistsError(f"A model named '{name}' already exists.") from None
    except OSError as error:
        raise ModelSaveError(f"The server could not write the model '{name}' "
                             f"({error.strerror or type(error).__name__}).") from None
    return name


def _refuse_case_clash(name, folder):
    """Refuse a name that differs from a saved model's name only in capitals."""
    for saved in _saved_files(folder):
        if saved != name and saved.casefold() == name.casefold():
            raise ValueError(f"'{name}' differs from the saved model '{saved}' only in capitals; choose "
                             f"another name, or type '{saved}' to replace that model.")


def load_model(name, folder=None):
    """Load a saved model by the name saved_models lists (ModelFileError if it is gone or unusable)."""
    path = _saved_files(_folder(folder)).get(name)
    if path is None:
        raise ModelFileError("it is no longer saved on the server")
    return Net.load(path)
