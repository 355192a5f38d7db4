# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration of shadow_mm's documentation (make htmldocs). The
# kernel-doc directive is the kernel's own: Documentation/sphinx/kerneldoc.py
# and scripts/kernel-doc of linux-source-6.1, which scripts/setup.sh --docs
# --sphinx extracts into the cache and scripts/htmldocs names in
# SHADOW_MM_KERNEL_DOC.

import os
import re
import sys

top = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
kernel_doc = os.environ.get('SHADOW_MM_KERNEL_DOC') or os.path.join(
    os.environ.get('SHADOW_MM_CACHE') or
    os.path.expanduser('~/.cache/shadow_mm'), 'src-docs')
sys.path.insert(0, os.path.join(kernel_doc, 'Documentation', 'sphinx'))
# The tree's own extension (source_comment.py), beside this file.
sys.path.insert(0, os.path.join(top, 'Documentation', 'sphinx'))

extensions = ['kerneldoc', 'source_comment']
kerneldoc_bin = os.path.join(kernel_doc, 'scripts', 'kernel-doc')
kerneldoc_srctree = top

project = 'shadow_mm'
copyright = 'The shadow_mm authors'
author = 'The shadow_mm authors'
# The one version: MODULE_VERSION of module/main.c.
with open(os.path.join(top, 'module', 'main.c')) as f:
    release = re.search(r'^MODULE_VERSION\("(.*)"\);$', f.read(),
                        re.MULTILINE).group(1)
version = release

root_doc = 'index'
source_suffix = '.rst'
exclude_patterns = ['sphinx']
primary_domain = 'c'
# Literal blocks are shell sessions, logs and tables: no lexer guesses;
# C and shell blocks say so with code-block.
highlight_language = 'none'
# The uapi's types, as the kernel's conf.py declares its own attributes.
c_id_attributes = ['__user']

html_theme = 'alabaster'
html_title = 'shadow_mm %s' % release
html_static_path = []
html_show_sourcelink = False
