# SPDX-License-Identifier: GPL-2.0
"""heaplab's report side: load bench JSON, plot, write HTML, compare runs."""
