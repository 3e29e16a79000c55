"""Type hints of the native module (python/src/lib.rs). Use the functions of ``buffycoat``."""

from typing import Any, Dict, List, Optional, Sequence, Tuple

VERSION: str
GIT_COMMIT: str

class NativeError(Exception):
    """args = (kind, message); ``buffycoat`` turns it into its exception classes."""

def run(
    kind: str,
    scenario: Any,
    set: Sequence[str],
    threads: Optional[int] = None,
    output: Optional[str] = None,
    force: bool = False,
) -> Dict[str, Any]: ...
def sweep(
    kind: str,
    scenario: Any,
    vary: Sequence[str],
    set: Sequence[str],
    threads: Optional[int] = None,
) -> Dict[str, Any]: ...
def species() -> List[Dict[str, Any]]: ...
def validate() -> Tuple[List[Dict[str, Any]], str]: ...
