"""All ops. Importing this package attaches every Tensor method; each module lists __all__."""
from .creation import *  # noqa: F403
from .creation import Generator, default_generator  # noqa: F401
from .elementwise import *  # noqa: F403
from .convert import *  # noqa: F403
from .reduce import *  # noqa: F403
from .stats import *  # noqa: F403
from .scan import *  # noqa: F403
from .sort import *  # noqa: F403
from .activation import *  # noqa: F403
from .conv import *  # noqa: F403
from .shape import *  # noqa: F403
from .index import *  # noqa: F403
from .gather import *  # noqa: F403
from .masked import *  # noqa: F403
from .join import *  # noqa: F403
from .linalg import *  # noqa: F403
from .strided import *  # noqa: F403
