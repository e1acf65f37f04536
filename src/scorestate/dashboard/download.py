"""A button that downloads a file the server makes when it is pressed.

Solara's FileDownload draws its button as a child widget inside a Vue template, and under
Vuetify 3 (ipyvuetify 3, which this page runs on) the template leaves the child an empty
placeholder: no button, no link. Here the button is part of the template itself. The rest is as
FileDownload does it: a press asks the server for the bytes, which it makes only then, and the
browser saves them from a blob URL, so nothing is fetched from anywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import ipyvuetify
import solara
import traitlets

TEMPLATE = """
<template>
  <v-btn @click="request_download = true" :loading="request_download" variant="outlined"
         prepend-icon="mdi-download" :class="class_name" style="text-transform: none; margin: 4px">
    {{ label }}
  </v-btn>
</template>
<script>
module.exports = {
  watch: {
    bytes(value) {
      if (!this.request_download || !value) { return; }
      const a = document.createElement('a');
      const url = window.URL.createObjectURL(new Blob([value], {type: this.mime_type}));
      a.href = url;
      a.download = this.filename;
      document.body.appendChild(a);
      a.click();
      document.body.removeChild(a);
      setTimeout(() => window.URL.revokeObjectURL(url), 1000);
      this.request_download = false;
    }
  }
}
</script>
"""


class DownloadWidget(ipyvuetify.VuetifyTemplate):
    """The button and the browser's side of a download (see the module's note)."""

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    class_name = traitlets.Unicode("").tag(sync=True)
    filename = traitlets.Unicode("").tag(sync=True)
    mime_type = traitlets.Unicode("application/octet-stream").tag(sync=True)
    bytes = traitlets.Bytes(None, allow_none=True).tag(sync=True)
    request_download = traitlets.Bool(False).tag(sync=True)


@solara.component
def Download(data: Callable[[], str], filename: str, label: str, mime_type: str,
             class_name: str = "") -> None:
    """A button saving `data()` as `filename`; the text is made when the button is pressed, not
    with every drawing of the page (a year of daily metrics is a few hundred kilobytes)."""
    requested, set_requested = solara.use_state(False)
    content = data().encode("utf-8") if requested else None
    DownloadWidget.element(label=label, class_name=class_name, filename=filename, mime_type=mime_type,
                           bytes=content, request_download=requested, on_request_download=set_requested)
