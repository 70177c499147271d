"""Saved models: private to the session that saved them unless it publishes them.

Layout, all inside MODELS_DIR (data/models/):

* ``<name>.npz``: a published model, which every session lists and loads (the shipped
  default, and any file a host puts there, is published and owned by no session);
* ``private/<owner>/<name>.npz``: a session's own models, ``owner`` being a random hex
  token kept in the session's state (never shown, never derived from anything a visitor sees).

Publishing hard-links a session's file to ``<name>.npz``: the link fails if the name is
taken, so published names are unique, and a published file is the owner's exactly when it is
the same file as the owner's private one. Only the owner can replace, unpublish or delete it.
Files are written atomically (core.modelfile), in float32. A session keeps at most
``limits.MAX_MODELS_PER_SESSION`` models; the server at most ``limits.MAX_SAVED_MODELS`` files
and ``limits.MAX_SAVED_MODEL_BYTES``, removing the oldest unpublished models to make room.

A model's name is its file name without ``.npz``. Names that differ only in capitals count as
the same name (they would be one file on a case-insensitive file system). Messages name the
model, never the folder or the owner.
"""
import copy
import os
import re
import secrets
import threading
import unicodedata
from pathlib import Path

import numpy as np

from core import ModelFileError, Net, limits, modelfile

MODELS_DIR = modelfile.MODELS_DIR
PRIVATE_FOLDER = "private"
DEFAULT_NAME = "default"
EXTENSION = ".npz"
MAX_NAME_LENGTH = 50  # 50 letters of up to 4 UTF-8 bytes each, plus the temporary-file affixes, fit in 255 bytes
NAME_SYMBOLS = "-_."
ALLOWED_CHARACTERS = "letters, digits, '-', '_' and '.'"
ALLOWED_START = "a letter or a digit"
NAME_HELP = (f"A model name uses {ALLOWED_CHARACTERS}, starting with {ALLOWED_START}, at most {MAX_NAME_LENGTH} "
             f"characters. Spaces become '-', and a final '{EXTENSION}' is dropped.")
OWNER_PATTERN = re.compile(r"[0-9a-f]{32}")
_STORE_LOCK = threading.Lock()  # one change to the store at a time: quotas and eviction count a stable folder


def _folder(folder):
    """``folder``, or MODELS_DIR looked up at call time (so tests can point it elsewhere)."""
    return MODELS_DIR if folder is None else Path(folder)


class ModelExistsError(FileExistsError):
    """A model of that name exists; saving again needs the user's confirmation."""


class ModelSaveError(OSError):
    """The server could not write the model file; the message says why, without the path."""


class ModelQuotaError(ValueError):
    """The session or the server has no room for another model; the message says what to do."""


def new_owner():
    """A fresh owner token for a session: 128 random bits, as hex."""
    return secrets.token_hex(16)


def _owner_folder(owner, folder):
    """The session's private folder; ValueError unless ``owner`` is a token new_owner could make."""
    if not isinstance(owner, str) or not OWNER_PATTERN.fullmatch(owner):
        raise ValueError("not a valid owner token")
    return folder / PRIVATE_FOLDER / owner


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


def _listed_first_default(names):
    return sorted(sorted(names), key=lambda n: n != DEFAULT_NAME)


def published_models(folder=None):
    """Names every session sees, the default first."""
    return _listed_first_default(_saved_files(_folder(folder)))


def own_models(owner, folder=None):
    """{name: published?} of the models ``owner`` saved, sorted by name."""
    folder = _folder(folder)
    published = _saved_files(folder)
    return {name: _same_file(path, published.get(name))
            for name, path in sorted(_saved_files(_owner_folder(owner, folder)).items())}


def saved_models(folder=None, owner=None):
    """Names ``owner`` can load (its own and the published ones; only published ones without an
    owner), the default first; each of them loads with load_model."""
    names = set(published_models(folder))
    if owner is not None:
        names |= set(own_models(owner, folder))
    return _listed_first_default(names)


def _same_file(path, other):
    try:
        return other is not None and os.path.samefile(path, other)
    except OSError:
        return False


def save_model(net, name, overwrite=False, folder=None, owner=None):
    """Save in float32 under a cleaned name, private to ``owner``; returns the name.

    Raises ModelExistsError when ``owner`` has a model of that name and overwrite is False,
    ModelQuotaError when there is no room. A replaced model that was published stays published.
    Without an owner the model is published and owned by no session (for the host's scripts).
    """
    folder = _folder(folder)
    name = clean_name(name)
    data = _as_float32(net).to_bytes()  # a network that cannot be saved raises before anything is written
    home = folder if owner is None else _owner_folder(owner, folder)
    with _STORE_LOCK:
        _refuse_case_clash(name, home)
        target = model_path(name, home)
        if target.exists() and not overwrite:
            raise ModelExistsError(f"A model named '{name}' already exists.")
        published = None if owner is None else _published_path_of(name, owner, folder)
        if owner is not None and not target.exists():
            _check_session_quota(owner, folder)
        _make_room(folder, len(data), keep=target)
        try:
            modelfile.write_atomic(target, data, overwrite=overwrite)
            if published is not None:
                _link_over(target, published)
        except FileExistsError:
            raise ModelExistsError(f"A model named '{name}' already exists.") from None
        except OSError as error:
            raise ModelSaveError(f"The server could not write the model '{name}' "
                                 f"({error.strerror or type(error).__name__}).") from None
        finally:
            _prune(home, folder)
    return name


def _as_float32(net):
    """``net`` itself if it is float32, else a float32 copy (saved models take half the room)."""
    if net.dtype == np.float32:
        return net
    twin = copy.copy(net)
    twin.dtype = np.dtype(np.float32)
    twin.weights = [w.astype(np.float32) for w in net.weights]
    twin.biases = [b.astype(np.float32) for b in net.biases]
    return twin


def _published_path_of(name, owner, folder):
    """The published file of ``owner``'s model ``name``, or None if it is not published."""
    public = _saved_files(folder).get(name)
    private = _saved_files(_owner_folder(owner, folder)).get(name)
    return public if private is not None and _same_file(private, public) else None


def _link_over(source, target):
    """Make ``target`` the same file as ``source``, in one step (a temporary link, then a rename)."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    os.link(source, temp)
    try:
        os.replace(temp, target)
    finally:
        if os.path.lexists(temp):
            os.unlink(temp)


def _check_session_quota(owner, folder):
    count = len(own_models(owner, folder))
    if count >= limits.MAX_MODELS_PER_SESSION:
        raise ModelQuotaError(f"You already have {count} saved models, the most one session may keep; "
                              "delete one of them first, or replace one by saving under its name.")


def _make_room(folder, new_bytes, keep):
    """Remove the oldest unpublished models (any session's) until a new file of ``new_bytes`` fits
    the server's caps; ModelQuotaError if only published ones are left."""
    files = _all_files(folder)
    kept = _file_id(keep)
    if kept in files:  # replacing a model: its old file goes
        del files[kept]
    candidates = sorted((info for key, info in files.items() if info[2] == 1 and info[3].parent != folder),
                        key=lambda info: info[0])
    while (len(files) + 1 > limits.MAX_SAVED_MODELS
           or sum(info[1] for info in files.values()) + new_bytes > limits.MAX_SAVED_MODEL_BYTES):
        if not candidates:
            raise ModelQuotaError("The server has no room for another saved model: it holds only published "
                                  "models. Try again later.")
        oldest = candidates.pop(0)
        _remove(oldest[3])
        _prune(oldest[3].parent, folder)
        del files[_file_id(oldest[3], oldest[4])]


def _all_files(folder):
    """{(device, inode): (mtime, bytes, links, path, stat)} of every model file, published or private."""
    paths = list(_saved_files(folder).values())
    private = folder / PRIVATE_FOLDER
    if private.is_dir():
        for home in private.iterdir():
            if OWNER_PATTERN.fullmatch(home.name) and home.is_dir():
                paths += _saved_files(home).values()
    files = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue  # removed meanwhile
        files[_file_id(path, stat)] = (stat.st_mtime, stat.st_size, stat.st_nlink, path, stat)
    return files


def _file_id(path, stat=None):
    """(device, inode) of ``path`` (hard links share it), or None if it does not exist."""
    try:
        stat = stat or path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _remove(path):
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _prune(home, folder):
    """Remove a session's private folder, then the private root, when they are empty."""
    for empty in (home, folder / PRIVATE_FOLDER):
        if empty != folder:
            try:
                empty.rmdir()
            except OSError:
                return


def publish_model(name, owner, folder=None):
    """Make ``owner``'s model visible to everyone, read-only for others; ValueError if the name is taken."""
    folder = _folder(folder)
    with _STORE_LOCK:
        private = _own_file(name, owner, folder)
        published = _saved_files(folder)
        if _same_file(private, published.get(name)):
            return
        clash = next((other for other in published if other.casefold() == name.casefold()), None)
        if clash is not None:
            raise ValueError(f"A model named '{clash}' is already published; save yours under another name "
                             "to publish it.")
        try:
            os.link(private, model_path(name, folder))
        except FileExistsError:
            raise ValueError(f"A model named '{name}' is already published; save yours under another name "
                             "to publish it.") from None
        except OSError as error:
            raise ModelSaveError(f"The server could not publish the model '{name}' "
                                 f"({error.strerror or type(error).__name__}).") from None


def unpublish_model(name, owner, folder=None):
    """Make ``owner``'s published model private again (nothing happens if it is not published)."""
    folder = _folder(folder)
    with _STORE_LOCK:
        public = _published_path_of(name, owner, folder)
        if public is not None:
            _remove(public)


def delete_model(name, owner, folder=None):
    """Delete ``owner``'s model, and its published copy if it has one."""
    folder = _folder(folder)
    with _STORE_LOCK:
        public = _published_path_of(name, owner, folder)
        private = _own_file(name, owner, folder)
        if public is not None:
            _remove(public)
        _remove(private)
        _prune(private.parent, folder)


def _own_file(name, owner, folder):
    """The file of ``owner``'s model ``name``; ModelFileError if it has none of that name."""
    path = _saved_files(_owner_folder(owner, folder)).get(name)
    if path is None:
        raise ModelFileError("it is no longer saved on the server")
    return path


def _refuse_case_clash(name, folder):
    """Refuse a name that differs from a saved model's name only in capitals."""
    for saved in _saved_files(folder):
        if saved != name and saved.casefold() == name.casefold():
            raise ValueError(f"'{name}' differs from the saved model '{saved}' only in capitals; choose "
                             f"another name, or type '{saved}' to replace that model.")


def load_model(name, folder=None, owner=None, published=False):
    """Load a model by the name saved_models lists: ``owner``'s own one first, unless ``published``,
    then the published one (ModelFileError if it is gone or unusable)."""
    folder = _folder(folder)
    path = None
    if owner is not None and not published:
        path = _saved_files(_owner_folder(owner, folder)).get(name)
    path = path or _saved_files(folder).get(name)
    if path is None:
        raise ModelFileError("it is no longer saved on the server")
    return Net.load(path)
