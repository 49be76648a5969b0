-- Errors become diagnostics on the failing line, with columns; a re-run clears them.
local T = require('harness')

local function diags(b)
  local d = vim.diagnostic.get(b)
  table.sort(d, function(x, y)
    return x.lnum < y.lnum
  end)
  return d
end

T.test('a runtime error is a diagnostic on its line, on the failing expression (revision 1 frame columns)', function()
  local b = T.buffer({ 'x = 1', 'y = [x]', '    ', 'z = y[0] / 0  # boom' })
  vim.cmd('1,4AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('error', run.state)
  local d = diags(b)
  T.eq(1, #d)
  T.eq(3, d[1].lnum)
  T.eq('ZeroDivisionError: division by zero', d[1].message)
  T.eq(vim.diagnostic.severity.ERROR, d[1].severity)
  -- revision 1: the frame's columns are those of the failing expression, y[0] / 0
  T.eq({ 4, 12 }, { d[1].col, d[1].end_col }, 'byte columns of y[0] / 0')
  T.has(T.block(b, 3), '✗ ZeroDivisionError: division by zero')
end)

T.test('[rev1] a runtime error has the columns of the failing expression', function()
  local b = T.buffer({ 'é = "ü"; d = {}', 'é + d["missing"]' })
  vim.cmd('1,2AsyncodeRun')
  T.finished(T.run_of(b))
  local d = diags(b)
  T.eq(1, #d)
  T.eq(1, d[1].lnum)
  local line = vim.api.nvim_buf_get_lines(b, 1, 2, false)[1]
  local s = line:find('d["missing"]', 1, true) - 1
  T.eq({ s, s + #'d["missing"]' }, { d[1].col, d[1].end_col }, 'byte columns of d["missing"]')
end)

T.test('a syntax error is a diagnostic at its line and column', function()
  local b = T.buffer({ 'a = 1', 'print("é", a b)' })
  vim.cmd('1,2AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('error', run.state)
  T.wait(function()
    return #vim.diagnostic.get(b) == 1
  end, 'the diagnostic')
  local d = diags(b)
  T.eq(1, d[1].lnum)
  T.has(d[1].message, 'SyntaxError')
  local line = vim.api.nvim_buf_get_lines(b, 1, 2, false)[1]
  -- CPython points at "a b" (the missing comma)
  T.eq(line:find('a b', 1, true) - 1, d[1].col, 'byte column of the error in a line with é before it')
end)

T.test('an error inside a function defined by an earlier run is shown on the function\'s line', function()
  local b = T.buffer({ 'def f(v):', '    return 10 / v', '', 'f(0)' })
  vim.cmd('1,2AsyncodeRun')
  T.finished(T.run_of(b))
  vim.cmd('4AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('error', run.state)
  local d = diags(b)
  T.eq(1, #d)
  T.eq(1, d[1].lnum, 'the line in f')
  T.eq({ 11, 17 }, { d[1].col, d[1].end_col }, 'byte columns of 10 / v in the function')
end)

T.test('an error in an indented selection keeps its columns in the buffer', function()
  local b = T.buffer({ 'if True:', '    w = 0', '    w = 1 / w' })
  vim.cmd('2,3AsyncodeRun')
  T.finished(T.run_of(b))
  local d = diags(b)
  T.eq(2, d[1].lnum)
  -- the selection ran dedented by 4; the columns of 1 / w are moved back into the buffer
  T.eq({ 8, 13 }, { d[1].col, d[1].end_col }, 'byte columns of 1 / w in the buffer')
end)

T.test('a re-run clears the diagnostics of its lines', function()
  local b = T.buffer({ 'q = 0', 'r = 1 / q' })
  vim.cmd('1,2AsyncodeRun')
  T.finished(T.run_of(b))
  T.eq(1, #diags(b))
  vim.api.nvim_buf_set_lines(b, 0, 1, false, { 'q = 2' })
  vim.cmd('1,2AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('ok', run.state)
  T.eq(0, #diags(b))
end)
