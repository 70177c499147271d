"""Saved models: the shared folder data/models/, with safe names and no silent overwrite.

Every session saves into and loads from the same folder, so names are reduced
to a safe file name, writes are atomic (core.modelfile), an existing model is
only replaced when the caller says so, and the shipped default is read-only.
"""
import re
from pathlib import Path

from core import Net, modelfile

MODELS_DIR = modelfile.MODELS_DIR
DEFAULT_NAME = "default"
MAX_NAME_LENGTH = 64


def _folder(folder):
    """``folder``, or MODELS_DIR looked up at call time (so tests can point it elsewhere)."""
    return MODELS_DIR if folder is None else Path(folder)


class ModelExistsError(FileExistsError):
    """A model of that name exists; saving again needs the user's confirmation."""


def clean_name(name):
    """A safe model name from what the user typed, or ValueError saying what is wrong.

    Letters, digits, '-', '_' and '.' are kept, spaces become '-', and a name can
    neither start with a dot (hidden files) nor contain a path (no '/', no '..').
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("give the model a name")
    name = name.strip()
    if name.lower().endswith(".npz"):
        name = name[:-4]
    if "/" in name or "\\" in name or ".." in name:
        raise ValueError("a model name cannot contain '/', '\\' or '..'")
    name = re.sub(r"\s+", "-", name)
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ValueError("use only letters, digits, '-', '_' and '.' in a model name (not starting with '.')")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a model name can have at most {MAX_NAME_LENGTH} characters")
    if name.lower() == DEFAULT_NAME:
        raise ValueError("'default' is the shipped model and cannot be overwritten; choose another name")
    return name


def model_path(name, folder=None):
    folder = _folder(folder)
    path = (folder / f"{name}.npz").resolve()
    if path.parent != folder.resolve():
        raise ValueError("a model name cannot point outside the models folder")
    return path


def saved_models(folder=None):
    """Names of the saved models, the default first."""
    folder = _folder(folder)
    if not folder.is_dir():
        return []
    names = sorted(p.stem for p in folder.glob("*.npz") if not p.name.startswith("."))
    return sorted(names, key=lambda n: n != DEFAULT_NAME)


def save_model(net, name, overwrite=False, folder=None):
    """Save under a cleaned name; raises ModelExistsError when it exists and overwrite is False."""
    folder = _folder(folder)
    name = clean_name(name)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        net.save(model_path(name, folder), overwrite=overwrite)
    except FileExistsError:
        raise ModelExistsError(f"a model named '{name}' already exists") from None
    return name


def load_model(name, folder=None):
    """Load a saved model by name (ModelFileError if the file is unusable)."""
    if name != DEFAULT_NAME:
        name = clean_name(name)
    return Net.load(model_path(name, folder))
