"""Which files of the bucket make an entry.

An entry is normally one file per stage. Two files can make the same path (`Guide/Intro.md`
and `guide/intro.md`: folders and names are slugified); the index keeps the first by name and
lists the other as an object error. These lookups find every file of a path, so that a
removal lets another take the entry's place (as a rebuild of the index would), and a delete
or an unpublish removes the entry, not only the file the index names.
"""

from __future__ import annotations

from ..domain.entries import Stage, object_key, parse_object_key
from ..domain.errors import ValidationFailed
from ..domain.paths import folder_segment, path_of_file
from ..ports import Backend


def files_of_path(backend: Backend, collection: str, stage: Stage, path: str) -> list[str]:
    """Every file of the stage that makes ``path``, first by name first: one listing per
    folder level (S3's delimiter), over the folders whose names make the path's segments."""
    prefixes = [object_key(collection, "", stage)]
    for segment in path.split("/")[:-1]:
        prefixes = [
            folder
            for prefix in prefixes
            for folder in backend.objects.list_folders(prefix)
            if folder_segment(folder[len(prefix) : -1]) == segment
        ]
    files = []
    for prefix in prefixes:
        for info in backend.objects.list_objects(prefix, shallow=True):
            parsed = parse_object_key(info.key)
            if parsed is None:
                continue
            try:
                if path_of_file(parsed[2]) == path:
                    files.append(parsed[2])
            except ValidationFailed:
                continue
    return sorted(files)


def remove_all(backend: Backend, collection: str, stage: Stage, path: str, *, but: str) -> None:
    """Remove every file of the stage that makes ``path`` other than ``but`` (rivals an
    entry's removal would otherwise hand the entry to)."""
    for file in files_of_path(backend, collection, stage, path):
        if file != but:
            backend.objects.delete(object_key(collection, file, stage))
