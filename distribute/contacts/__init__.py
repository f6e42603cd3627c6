"""Contacts in and out: import the CSV files people really have, export CSV a spreadsheet can open.

Import, in the words a user can rely on:

- The file is read as it comes: UTF-8 with or without a BOM, cp1252 or Latin-1 (decided line by
  line, so a mostly-UTF-8 file with one Windows line still reads), UTF-16 with a BOM (Excel's
  "Unicode text"), comma, semicolon, tab or pipe delimiters (decided from the header line, or an
  Excel ``sep=;`` first line), LF, CRLF or old-Mac CR line ends, quoted fields with line breaks.
- Header names are matched loosely (case, spaces, ``_``, ``-`` do not matter) against the names
  Mailchimp, listmonk, Outlook, Google Contacts and hand-made sheets use (see
  ``columns._SYNONYMS``). Columns that mean nothing here are kept in ``Contact.attributes`` under
  the header's normalised name (``"Phone Number"`` -> ``phone_number``); empty values are not
  stored.
  A listmonk ``attributes`` JSON object is merged in, its known keys (outlet, beat, …) promoted
  to the matching columns.
- A status column (``unsubscribed``, ``cleaned``, ``blocklisted``, ``complained`` …) or a filled
  Mailchimp ``UNSUB_TIME`` / ``CLEAN_TIME`` marks the contact unsubscribed / bounced.
  **A re-import never re-activates a contact whose status is not active**: a person who
  unsubscribed, bounced or complained stays so whatever a later file says. Only ``active``
  moves, to one of the others.
- Rows for the same address (compared as ``addresses.normalise`` keys, so case does not matter)
  merge, within the file and with the database: a later non-empty value overwrites, attributes
  merge key by key, tags add up, and nothing is ever blanked. The address keeps the form it was
  first stored with. The kind given to the import (or a ``kind`` column) is the contact's kind
  afterwards.
- A bad row (no or invalid address, wrong number of fields, bad attributes JSON, a value too
  long for its column, an unclosed quote, a line over 100 kB …) is reported with the line it
  starts on and why, and the other rows are imported. A file that cannot be read at all
  (missing, empty, a spreadsheet rather than CSV, no email column) raises ``UserError`` before
  anything is stored.
- Importing the same file twice changes nothing the second time (0 imported, 0 updated).
- The file is streamed in chunks, each committed on its own: memory does not grow with the
  file, and an interrupted import can simply be run again.

The parts: ``reading`` (bytes -> decoded lines -> CSV records with line numbers), ``columns``
(what a header means, and a row of fields -> a contact), ``writing`` (the chunked writer to the
database), ``report`` (what an import did), ``importing`` (the import that joins them) and
``export``; ``addresses`` normalises an address into the key every table compares.
"""
