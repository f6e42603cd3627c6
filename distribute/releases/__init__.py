"""A release: read from a file (reader, with head, blocks, trailer, lines, dates, contacts,
markdown, conventions, language), stored (store), its body as blocks (content), compiled into
an email per variant (rendering, words) and its links made trackable (links)."""
