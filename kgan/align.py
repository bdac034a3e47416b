"""Face alignment for StyleGAN projection, offline, with OpenCV's bundled Haar cascades.

Seed 000 aligns photos with FFHQ's landmark alignment (dlib's 68-point model, NVlabs
`ffhq-dataset` / Puzer `align_images.py`), whose model file cannot be downloaded here. This
is that alignment driven by the two eye centres only: the largest frontal face
(`haarcascade_frontalface_default.xml`), the two largest eyes in its upper half
(`haarcascade_eye.xml`; without two, the eyes are placed at FFHQ-typical positions in the face
box, 30% / 70% across and 38% down), and the eye-to-mouth vector, which dlib would measure, is
assumed to be the eye-to-eye vector turned 90 degrees and scaled by MOUTH_RATIO. Then as
FFHQ: x = e2e - rot90(e2m), normalized and scaled to max(2 |e2e|, 1.8 |e2m|), y = rot90(x),
centre = eye midpoint + 0.1 e2m, and the quad (c - x - y, c - x + y, c + x + y, c + x - y)
is warped to the output square (border: edge pixels repeated, FFHQ pads by reflection).
"""
import os

import cv2
import numpy as np

from kgan.errors import UsageError

MOUTH_RATIO = 1.1  # eye line to mouth over interocular distance: ~70 mm / 63 mm for adults (assumed)


def _cascade(name):
    return cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, name))


def detect_eyes(image_rgb):
    """(left eye (x, y), right eye (x, y), face box (x, y, w, h), "cascade" or "estimated")
    of the largest face in a uint8 RGB image; UsageError when no face is found."""
    gray = cv2.cvtColor(np.asarray(image_rgb, np.uint8), cv2.COLOR_RGB2GRAY)
    faces = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(gray, 1.1, 5, minSize=(24, 24))
    if len(faces) == 0:
        raise UsageError("no frontal face found in the image: pass a photo with a visible face, or --no-align")
    x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
    upper = gray[y:y + h // 2, x:x + w]
    eyes = _cascade("haarcascade_eye.xml").detectMultiScale(upper, 1.1, 5, minSize=(max(4, w // 10),) * 2)
    eyes = sorted(eyes, key=lambda e: e[2] * e[3], reverse=True)[:2]
    if len(eyes) == 2 and abs(eyes[0][0] - eyes[1][0]) > w // 6:
        centres = sorted((x + ex + ew / 2, y + ey + eh / 2) for ex, ey, ew, eh in eyes)
        return np.array(centres[0]), np.array(centres[1]), (x, y, w, h), "cascade"
    return np.array([x + 0.3 * w, y + 0.38 * h]), np.array([x + 0.7 * w, y + 0.38 * h]), (x, y, w, h), "estimated"


def _rot90(v):
    return np.array([-v[1], v[0]])


def face_quad(eye_left, eye_right):
    """FFHQ's crop quad (4, 2) (top left, bottom left, bottom right, top right) from the eyes."""
    eye_avg = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    eye_to_mouth = _rot90(eye_to_eye) * MOUTH_RATIO
    x = eye_to_eye - _rot90(eye_to_mouth)
    x = x / np.hypot(*x) * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = _rot90(x)
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def align_face(image_rgb, size):
    """(aligned uint8 (size, size, 3), info dict: eyes, face box, how the eyes were found)."""
    left, right, box, how = detect_eyes(image_rgb)
    quad = face_quad(left, right)
    side = max(size, int(round(np.hypot(*(quad[3] - quad[0])))))  # warp at the quad's scale, then area-resize
    corners = np.float32([[0, 0], [0, side], [side, side]])
    matrix = cv2.getAffineTransform(np.float32(quad[:3]), corners)
    warped = cv2.warpAffine(np.asarray(image_rgb, np.uint8), matrix, (side, side), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
    aligned = cv2.resize(warped, (size, size), interpolation=cv2.INTER_AREA) if side != size else warped
    return aligned, {"eye_left": left.tolist(), "eye_right": right.tolist(), "face_box": [int(v) for v in box],
                     "eyes": how}


def center_crop_resize(image_rgb, size):
    """Short side to `size` (area / cubic), centre crop: uint8 (size, size, 3)."""
    height, width = image_rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = np.ascontiguousarray(image_rgb[top:top + side, left:left + side])
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_CUBIC)
