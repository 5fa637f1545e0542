#!/usr/bin/python3
"""torchvision oracle for dev.convlens.models.Preprocess.

Run: /usr/bin/python3 oracle_preprocess.py OUT_DIR   (the Java tests run it through dev.convlens.tensor.testing.Oracle)

For chelsea.png (CC0, 451x300 RGB) and each (resize, crop) below it writes into OUT_DIR:
  x_<resize>_<crop>.npy        T.Compose([T.Resize(resize), T.CenterCrop(crop), T.ToTensor(),
                               T.Normalize(ImageNet mean, std)]) as (1, 3, crop, crop) float32
  resized_<resize>_<crop>.npy  the PIL image after T.Resize, as (H, W, 3) float32 values 0..255
                               (to tell a resampling difference from a crop or normalize one)
(256, 224) is the ImageNet default; (97, 64) shrinks 3x; (480, 224) enlarges; (300, 255) keeps the
size (short side already 300) and has an odd crop offset (451 - 255 = 196, 300 - 255 = 45: 22.5
rounds half to even).

It also writes files in other modes, made from a 64x48 piece of the photo, and what PIL's
convert('RGB') makes of them (what torchvision's ImageFolder loader does), to check reading:
  img_<mode>.<ext>  gray (L), gray+alpha (LA), RGBA, palette (P), palette with a transparent
                    entry (P_trns), and a JPEG of the whole photo (quality 90)
  rgb_<mode>.npy    PIL's Image.open(f).convert('RGB') as (H, W, 3) float32 values 0..255
  x_jpeg.npy        the default ImageNet pipeline on img_jpeg.jpg
"""
import os
import sys

import numpy as np
import torchvision.transforms as T
from PIL import Image

OUT = sys.argv[1]
PHOTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'resources', 'photos', 'chelsea.png')
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

img = Image.open(PHOTO).convert('RGB')
for resize, crop in [(256, 224), (97, 64), (480, 224), (300, 255)]:
    resized = T.Resize(resize)(img)
    x = T.Compose([T.CenterCrop(crop), T.ToTensor(), T.Normalize(MEAN, STD)])(resized).unsqueeze(0)
    tag = '%d_%d' % (resize, crop)
    np.save(os.path.join(OUT, 'x_' + tag + '.npy'), np.ascontiguousarray(x.numpy().astype('<f4')))
    np.save(os.path.join(OUT, 'resized_' + tag + '.npy'), np.asarray(resized, dtype='<f4'))
    print(tag, tuple(x.shape), resized.size)

piece = img.crop((100, 50, 164, 98))
rgba = piece.copy()
rgba.putalpha(Image.linear_gradient('L').resize(piece.size))
pal = piece.convert('P', palette=Image.ADAPTIVE, colors=50)
pal_trns = pal.copy()
pal_trns.info['transparency'] = 3
files = {'L': (piece.convert('L'), 'png'), 'LA': (rgba.convert('LA'), 'png'), 'RGBA': (rgba, 'png'),
         'P': (pal, 'png'), 'P_trns': (pal_trns, 'png'), 'jpeg': (img, 'jpg')}
for mode, (im, ext) in files.items():
    f = os.path.join(OUT, 'img_%s.%s' % (mode, ext))
    if ext == 'jpg':
        im.save(f, quality=90)
    else:
        im.save(f, transparency=im.info['transparency']) if 'transparency' in im.info else im.save(f)
    back = Image.open(f)
    print(mode, back.mode, back.size)
    np.save(os.path.join(OUT, 'rgb_' + mode + '.npy'), np.asarray(back.convert('RGB'), dtype='<f4'))
x = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])(
    Image.open(os.path.join(OUT, 'img_jpeg.jpg')).convert('RGB')).unsqueeze(0)
np.save(os.path.join(OUT, 'x_jpeg.npy'), np.ascontiguousarray(x.numpy().astype('<f4')))
