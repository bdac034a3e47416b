"""Pretrained Keras application weights from files already on disk (nothing is downloaded
at run time): VGG19 for SRGAN's content loss (`kgan.perceptual`), Inception-v3 for the
sample-quality metrics (`kgan.metrics`)."""
import dataclasses
import os

from kgan.errors import UsageError

APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications"


def keras_cache_dir():
    """Where `keras.utils.get_file` caches application weights: $KERAS_HOME or ~/.keras
    (/tmp/.keras when the home directory is not writable), read at call time."""
    if os.environ.get("KERAS_HOME"):
        base = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    return os.path.join(base, "models")


@dataclasses.dataclass(frozen=True)
class ApplicationWeights:
    """The ImageNet weights file of one Keras application and how users point kgan to it.

    what: the network's name in messages ("VGG19"); file_name: Keras' own name for the
    file (the name in the Keras cache); url_path: its folder under APPLICATIONS_URL;
    flag / env: the command-line flag and environment variable that give a path;
    alternative: what to do instead, appended to the missing-file message.
    """

    what: str
    file_name: str
    url_path: str
    flag: str
    env: str
    alternative: str = ""

    def hint(self):
        url = f"{APPLICATIONS_URL}/{self.url_path}/{self.file_name}"
        text = (f"get {self.file_name} ({url}) and pass {self.flag} PATH or set {self.env}=PATH "
                f"(or put it in {keras_cache_dir()}/)")
        return f"{text}; {self.alternative}" if self.alternative else text

    def resolve(self, weights="imagenet"):
        """None (random init) or the path of the weights file.

        weights: a path; or "imagenet": $env if set, else the Keras cache copy of
        file_name. Raises UsageError (one line) if the file is not there.
        """
        if weights is None:
            return None
        if weights == "imagenet":
            if os.environ.get(self.env):
                weights = os.environ[self.env]
            else:
                cached = os.path.join(keras_cache_dir(), self.file_name)
                if os.path.isfile(cached):
                    return cached
                raise UsageError(f"{self.what} ImageNet weights not found: {self.hint()}")
        if not os.path.isfile(weights):
            raise UsageError(f"{self.what} weights file {weights} does not exist: {self.hint()}")
        return weights

    def load(self, application, path, **kwargs):
        """application(weights=path, **kwargs) (a `keras.applications` constructor); a file
        Keras cannot read becomes a one-line UsageError naming it."""
        try:
            return application(weights=path, **kwargs)
        except (ValueError, OSError) as error:
            first_line = (str(error).strip() or type(error).__name__).splitlines()[0]
            raise UsageError(
                f"cannot load {self.what} weights from {path} (expected {self.file_name}): {first_line}"
            ) from error
