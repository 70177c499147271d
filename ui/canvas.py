"""The Draw page's canvas: streamlit-drawable-canvas fed from the session's Sketch.

The canvas's toolbar (undo, redo, edit, reset) is hidden over the top right corner of the
canvas until the mouse hovers it. A finger never hovers: on a phone the toolbar stays
invisible, and a stroke that starts in that corner lands on it and is lost (the invisible
toolbar still takes the touch; with a mouse too, until the hover has moved it up). A small
script pins the toolbar visible above the canvas instead (the component keeps its styles in a
shadow root, which page CSS cannot reach; the root comes a moment after its host, and the
toolbar later inside it, where an observer of the page does not see it: each root gets one).
"""
import streamlit as st
from streamlit_drawable_canvas import st_canvas

CANVAS_SIDE = 280
INK = "#111111"

_PIN_TOOLBAR = """<div style="height: 24px"></div><script>
(() => {
  if (window.__pinCanvasToolbar) return;
  const css = ".dc-toolbar{opacity:1 !important;top:-2.65rem !important;pointer-events:none}"
    + ".dc-toolbar-card{pointer-events:auto}";  // its see-through margin takes no strokes
  const pinIn = root => {
    if (root.querySelector(".dc-toolbar") && !root.querySelector("style[data-pinned-toolbar]")) {
      const style = document.createElement("style");
      style.dataset.pinnedToolbar = "";
      style.textContent = css;
      root.appendChild(style);
    }
  };
  const watch = (tries = 0) => {  // the toolbar appears inside the shadow root: watch each root itself
    let rootless = false;
    for (const host of document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
      const root = host.shadowRoot;
      rootless ||= !root;
      if (!root || root.__pinWatch) continue;
      root.__pinWatch = new MutationObserver(() => pinIn(root));
      root.__pinWatch.observe(root, {childList: true, subtree: true});
      pinIn(root);
    }
    if (rootless && tries < 50) setTimeout(() => watch(tries + 1), 100);  // its root comes a moment later
  };
  let pending = false;
  window.__pinCanvasToolbar = new MutationObserver(() => {
    if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; watch(); }); }
  });
  window.__pinCanvasToolbar.observe(document.body, {childList: true, subtree: true});
  watch();
})();
</script>"""


def drawing_canvas(sketch, stroke_width):
    """Show the canvas (with room above it for the toolbar) and record what it sends into ``sketch``."""
    key = sketch.key(stroke_width)
    with st.container(width=CANVAS_SIDE + 4):
        st.html(_PIN_TOOLBAR, unsafe_allow_javascript=True)  # also the gap the toolbar sits in
        result = st_canvas(stroke_width=stroke_width, stroke_color=INK, background_color="",
                           height=CANVAS_SIDE, width=CANVAS_SIDE, drawing_mode="freedraw",
                           initial_drawing=sketch.start(mounted=key in st.session_state),
                           return_image_data=True, key=key)
    sketch.update(result.json_data, result.image_data)
