// Photo search input: file picker, drag-and-drop anywhere on the page, and paste (Ctrl/Cmd+V).

const firstImage = (files) => [...(files || [])].find((f) => f.type.startsWith("image/")) || null;

/** Call onPhoto(file) whenever the shopper gives a photo in any of the three ways. */
export function watchPhotos({ input, overlay, onPhoto, enabled = () => true }) {
  input.addEventListener("change", () => {
    const f = input.files?.[0];
    input.value = ""; // choosing the same file again still fires
    if (f) onPhoto(f);
  });

  let depth = 0; // dragenter/leave fire for every child: count them
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
  document.addEventListener("dragenter", (e) => {
    if (!hasFiles(e) || !enabled()) return;
    depth += 1;
    overlay.hidden = false;
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  document.addEventListener("dragover", (e) => {
    if (hasFiles(e) && enabled()) e.preventDefault(); // allow the drop
  });
  document.addEventListener("drop", (e) => {
    depth = 0;
    overlay.hidden = true;
    if (!hasFiles(e) || !enabled()) return;
    e.preventDefault(); // don't let the browser open the file
    const f = firstImage(e.dataTransfer.files) || e.dataTransfer.files[0];
    if (f) onPhoto(f);
  });

  document.addEventListener("paste", (e) => {
    if (!enabled()) return;
    const items = [...(e.clipboardData?.items || [])];
    const item = items.find((i) => i.kind === "file" && i.type.startsWith("image/"));
    const f = item?.getAsFile();
    if (f) {
      e.preventDefault(); // text paste into the search box still works: only images are taken
      onPhoto(f);
    }
  });
}
