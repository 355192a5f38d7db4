# SPDX-License-Identifier: GPL-2.0
#
# The source-comment directive: part of a C block comment of the tree,
# shown as a literal block, so that the lock tree, the lifetimes and the
# on-demand fork rules have one source, the comment next to the code.
#
#   .. source-comment:: module/mm.c
#      :start-at: Lock ordering in the shadow_mm engine
#      :end-before: Lifetime of a struct shadow_mm:
#
# The lines from the one holding :start-at: (or after the one holding
# :start-after:) up to the one holding :end-before: (or the comment's
# end), their leading " * " taken off and common indentation removed. A marker that is not found is an
# error, so a reworded comment fails make htmldocs rather than going stale.

import os
import re
import textwrap

from docutils import nodes
from docutils.parsers.rst import Directive, directives


class SourceCommentDirective(Directive):
    required_arguments = 1
    has_content = False
    option_spec = {
        'start-at': directives.unchanged,
        'start-after': directives.unchanged,
        'end-before': directives.unchanged,
    }

    def run(self):
        env = self.state.document.settings.env
        path = os.path.join(env.config.kerneldoc_srctree, self.arguments[0])
        env.note_dependency(os.path.abspath(path))
        try:
            with open(path, encoding='utf-8') as f:
                lines = f.read().split('\n')
        except OSError as e:
            raise self.error('source-comment: %s' % e)
        start = self.options.get('start-at')
        skip = 0
        if start is None:
            start = self.options.get('start-after')
            skip = 1
        if start is None:
            raise self.error('source-comment: :start-at: or :start-after:')
        end = self.options.get('end-before')
        first = next((i for i, l in enumerate(lines) if start in l), None)
        if first is None:
            raise self.error('source-comment: "%s" not in %s' %
                             (start, self.arguments[0]))
        body = []
        for line in lines[first + skip:]:
            if (end and end in line) or re.match(r'^\s*\*/', line):
                break
            if not re.match(r'^\s*\*', line):
                raise self.error('source-comment: the comment of %s ends '
                                 'before "%s"' % (self.arguments[0], end))
            body.append(re.sub(r'^\s*\* ?', '', line))
        else:
            raise self.error('source-comment: "%s" not in %s' %
                             (end, self.arguments[0]))
        text = textwrap.dedent('\n'.join(body)).strip('\n')
        node = nodes.literal_block(text, text)
        node['language'] = 'none'
        return [node]


def setup(app):
    app.add_directive('source-comment', SourceCommentDirective)
    return dict(version='1.0', parallel_read_safe=True,
                parallel_write_safe=True)
