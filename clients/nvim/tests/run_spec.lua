-- The run commands against the real daemon: what they run and what shows under the code.
local T = require('harness')

T.test(':AsyncodeRun with a range runs those lines; output and result show under the last', function()
  local b = T.buffer({ 'xs = []', 'for i in range(3):', '    print("line", i)', '    xs.append(i)', 'len(xs)', 'print("not run")' })
  vim.cmd('1,5AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('ok', run.state)
  local block = T.block(b, 4)
  T.has(block, '│ line 0\n│ line 1\n│ line 2\n└ ✓ 3 · ')
  T.hasnt(block, 'not run')
  T.eq(1, #T.virt(b), 'one block')
end)

T.test(':AsyncodeRun without a range runs the whole statement under the cursor', function()
  local b = T.buffer({
    'import functools',
    '',
    '@functools.cache',
    'def f(x):',
    '    if x:',
    '        return "yes"',
    'else_ = 1',
    '',
    'if f(1) == "yes" and else_ == 1:',
    '    r = "then"',
    'else:',
    '    r = "else"',
    'r',
    's = """',
    'text at column 0',
    '"""',
  })
  vim.cmd('AsyncodeRun') -- the cursor is on line 1
  local run = T.finished(T.run_of(b))
  T.eq({ 0, 0 }, { run.first, run.last }, 'the import')
  vim.api.nvim_win_set_cursor(0, { 5, 4 }) -- inside the def
  vim.cmd('AsyncodeRun')
  run = T.finished(T.run_of(b, run))
  T.eq({ 2, 5 }, { run.first, run.last }, 'the decorated def, decorator included')
  T.eq('ok', run.state, run.summary)
  vim.api.nvim_win_set_cursor(0, { 10, 0 }) -- inside if/else
  vim.cmd('AsyncodeRun')
  run = T.finished(T.run_of(b, run))
  T.eq({ 8, 11 }, { run.first, run.last }, 'if with its else')
  vim.api.nvim_win_set_cursor(0, { 7, 0 })
  vim.cmd('AsyncodeRun')
  run = T.finished(T.run_of(b, run))
  T.eq({ 6, 6 }, { run.first, run.last }, 'a line that starts with else_ is a statement of its own')
  vim.api.nvim_win_set_cursor(0, { 9, 0 })
  vim.cmd('AsyncodeRun')
  run = T.finished(T.run_of(b, run))
  T.eq('ok', run.state, run.summary)
  vim.api.nvim_win_set_cursor(0, { 15, 0 }) -- inside a string at column 0
  vim.cmd('AsyncodeRun')
  run = T.finished(T.run_of(b, run))
  T.eq({ 13, 15 }, { run.first, run.last }, 'the whole string statement')
  vim.api.nvim_win_set_cursor(0, { 13, 0 })
  vim.cmd('AsyncodeRun')
  run = T.finished(T.run_of(b, run))
  T.has(T.block(b, 12), "✓ 'then'")
end)

T.test(':AsyncodeRunCell runs the # %% cell under the cursor', function()
  local b = T.buffer({ '# %%', 'a = 1', '# %% second', 'b = a + 41', 'b', '# %%', 'c = 3' })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd('AsyncodeRunCell')
  local first = T.finished(T.run_of(b))
  vim.api.nvim_win_set_cursor(0, { 4, 0 })
  vim.cmd('AsyncodeRunCell')
  local run = T.finished(T.run_of(b, first))
  T.eq({ 3, 4 }, { run.first, run.last })
  T.has(T.block(b, 4), '✓ 42')
end)

T.test(':AsyncodeRunFile runs the buffer in module mode: nothing is echoed', function()
  local b = T.buffer({ 'import sys', 'print(__name__)', '40 + 2', '' })
  vim.cmd('AsyncodeRunFile')
  local run = T.finished(T.run_of(b))
  T.eq('module', run.mode)
  local block = T.block(b, 2)
  T.has(block, '│ __main__')
  T.has(block, '✓ done')
  T.hasnt(block, '42')
end)

T.test('<Plug>(AsyncodeRunOperator) runs the lines of a motion (ip)', function()
  local b = T.buffer({ 'p1 = 1', 'p2 = p1 + 1', 'p2 * 10', '', 'p3 = 0' })
  vim.keymap.set('n', 'gx', '<Plug>(AsyncodeRunOperator)', { remap = true })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('gxip', true, false, true), 'mx', false)
  local run = T.finished(T.run_of(b))
  T.eq({ 0, 2 }, { run.first, run.last })
  T.has(T.block(b, 2), '✓ 20')
end)

T.test('a selection inside a function runs dedented', function()
  local b = T.buffer({ 'def g():', '    u = 5', '    print(u * 2)' })
  vim.cmd('2,3AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('ok', run.state)
  T.has(T.block(b, 2), '│ 10')
end)

T.test('a re-run replaces the block of the same lines', function()
  local b = T.buffer({ 'import random', 'print("run")' })
  vim.cmd('2AsyncodeRun')
  local one = T.finished(T.run_of(b))
  vim.cmd('2AsyncodeRun')
  T.finished(T.run_of(b, one))
  local blocks = T.virt(b)
  T.eq(1, #blocks, 'one block after a re-run')
  T.eq(1, select(2, table.concat(blocks[1].lines, '\n'):gsub('│ run', '')), 'its output once')
end)

T.test('the block follows its code when lines are inserted above', function()
  local b = T.buffer({ 'v = "moved"', 'v' })
  vim.cmd('1,2AsyncodeRun')
  T.finished(T.run_of(b))
  vim.api.nvim_buf_set_lines(b, 0, 0, false, { '# one', '# two' })
  T.has(T.block(b, 3), "✓ 'moved'")
end)

T.test(':AsyncodeClear removes blocks and diagnostics of the buffer', function()
  local b = T.buffer({ 'print("x")', '1/0' })
  vim.cmd('1,2AsyncodeRun')
  T.finished(T.run_of(b))
  T.eq(1, #vim.diagnostic.get(b))
  vim.cmd('AsyncodeClear')
  T.eq(0, #T.virt(b))
  T.eq(0, #vim.diagnostic.get(b))
end)

T.test(':AsyncodeOutput toggles the output window; it has everything, in order', function()
  local b = T.buffer({ 'print("\\x1b[31mred\\x1b[0m plain")', 'raise ValueError("boom")' })
  vim.cmd('1,2AsyncodeRun')
  local run = T.finished(T.run_of(b))
  local wins = #vim.api.nvim_tabpage_list_wins(0)
  vim.cmd('AsyncodeOutput')
  T.eq(wins + 1, #vim.api.nvim_tabpage_list_wins(0), 'a window more')
  local lines = T.output_lines()
  local text = table.concat(lines, '\n')
  T.has(text, string.format('── [%d] ', run.exec_count))
  T.has(text, 'red plain\nTraceback (most recent call last):')
  T.has(text, 'ValueError: boom')
  -- the ANSI red became a highlight on "red"
  local out = require('asyncode.output').bufnr()
  local row
  for i, l in ipairs(lines) do
    if l == 'red plain' then
      row = i - 1
    end
  end
  T.truthy(row, 'the line')
  local ns = vim.api.nvim_create_namespace('asyncode_output')
  local marks = vim.api.nvim_buf_get_extmarks(out, ns, { row, 0 }, { row, -1 }, { details = true })
  T.truthy(#marks >= 1, 'a highlight on the line')
  T.eq(0, marks[1][3])
  T.eq(3, marks[1][4].end_col)
  T.has(marks[1][4].hl_group, 'AsyncodeAnsi')
  vim.cmd('AsyncodeOutput')
  T.eq(wins, #vim.api.nvim_tabpage_list_wins(0), 'closed again')
end)

T.test('rich results: markdown text, and images saved to a file', function()
  local b = T.buffer({
    'class R:',
    '    def _repr_markdown_(self): return "**bold** md"',
    '    def _repr_png_(self): return b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8)',
    'R()',
  })
  vim.cmd('1,4AsyncodeRun')
  local run = T.finished(T.run_of(b))
  local block = T.block(b, 3)
  T.has(block, '[image/png: ')
  T.has(block, '**bold** md')
  local path = block:match('%[image/png: ([^%]]+)%]')
  T.truthy(path and (vim.uv or vim.loop).fs_stat(path), 'the image file exists')
  local f = io.open(path, 'rb')
  local data = f:read('*a')
  f:close()
  T.eq('\137PNG\r\n\26\n' .. string.rep('\0', 8), data)
  T.eq('ok', run.state)
end)

T.test('no mappings by default; setup{ mappings = true } maps Python buffers', function()
  vim.g.maplocalleader = ','
  local b = T.buffer({ 'print("mapped")' })
  T.eq('', vim.fn.maparg(',rr', 'n'), 'nothing mapped without setup')
  require('asyncode').setup({ mappings = true })
  local b2 = T.buffer({ 'print("mapped")' })
  vim.bo[b2].filetype = 'python' -- FileType fires for a new Python buffer
  T.truthy(vim.fn.maparg(',rr', 'n') ~= '', ',rr in a Python buffer')
  T.truthy(vim.fn.maparg(',r', 'x') ~= '', ',r in visual mode')
  vim.api.nvim_feedkeys(',rr', 'mx', false)
  local run = T.finished(T.run_of(b2))
  T.has(T.block(b2, 0), '│ mapped')
  T.eq('ok', run.state)
  require('asyncode').setup({})
  T.eq(nil, T.last_run(b), 'the first buffer ran nothing')
end)
