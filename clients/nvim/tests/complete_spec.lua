-- Completion, inspect and variables from the live session.
local T = require('harness')

local function run_lines(b, l1, l2)
  vim.cmd(l1 .. ',' .. l2 .. 'AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('ok', run.state, run.summary)
end

T.test('omnifunc completes from the live namespace after non-ASCII text', function()
  local b = T.buffer({ 'très_long = 1; très_court = 2', 'x = "ça 😀"; trè' })
  run_lines(b, 1, 1)
  vim.bo[b].omnifunc = "v:lua.require'asyncode'.omnifunc"
  -- the session's first completion imports jedi: seconds on a loaded machine
  require('asyncode.config').values.complete_timeout_ms = 20000
  local line = vim.api.nvim_buf_get_lines(b, 1, 2, false)[1]
  vim.api.nvim_win_set_cursor(0, { 2, #line })
  local start = require('asyncode').omnifunc(1, '')
  T.eq(#line - #'trè', start, 'the byte column where the name starts')
  local words = vim.tbl_map(function(m)
    return m.word
  end, require('asyncode').omnifunc(0, 'trè'))
  table.sort(words)
  T.eq({ 'très_court', 'très_long' }, words)
  -- and through <C-x><C-o> in insert mode, as a person types it
  vim.api.nvim_win_set_cursor(0, { 2, #line })
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('A<C-x><C-o><C-n><Esc>', true, false, true), 'x', false)
  local now = vim.api.nvim_buf_get_lines(b, 1, 2, false)[1]
  T.truthy(now == 'x = "ça 😀"; très_long' or now == 'x = "ça 😀"; très_court', 'completed line: ' .. now)
end)

T.test(':AsyncodeInspect shows the signature and docstring in a float', function()
  local b = T.buffer({ 'def greet(name: str, punct="!"):', '    """Say hello."""', '    return name', 'greet' })
  run_lines(b, 1, 3)
  vim.api.nvim_win_set_cursor(0, { 4, 2 })
  local shown
  require('asyncode').inspect(function(r)
    shown = r or false
  end)
  T.wait(function()
    return shown ~= nil
  end, 'the inspect answer')
  T.truthy(shown, 'a float')
  T.truthy(vim.api.nvim_win_is_valid(shown.winid), 'the float window')
  T.eq('editor', vim.api.nvim_win_get_config(shown.winid).relative ~= '' and 'editor' or 'none')
  local text = table.concat(vim.api.nvim_buf_get_lines(shown.bufnr, 0, -1, false), '\n')
  T.has(text, 'greet(name: str, punct=')
  T.has(text, 'Say hello.')
  vim.api.nvim_win_close(shown.winid, true)
end)

local function var_lines()
  local v = require('asyncode.variables')
  return vim.api.nvim_buf_get_lines(v.view.buf, 0, -1, false)
end

T.test(':AsyncodeVariables lists the namespace', function()
  local b = T.buffer({ 'numbers = [1, 2, 3]', 'config = {"a": {"deep": 1}}' })
  run_lines(b, 1, 2)
  T.await(require('asyncode').variables, 'the variables')
  local text = table.concat(var_lines(), '\n')
  T.has(text, 'numbers  list')
  T.has(text, '[1, 2, 3]')
  T.has(text, "config  dict")
  vim.cmd('close')
end)

T.test('[rev1] :AsyncodeVariables expands entries with refs', function()
  local b = T.buffer({ 'tree = {"a": {"deep": 1}, "b": [10, 20]}' })
  run_lines(b, 1, 1)
  T.await(require('asyncode').variables, 'the variables')
  local v = require('asyncode.variables')
  local row
  for i, n in ipairs(v.view.rows) do
    if n.name == 'tree' then
      row = i
    end
  end
  T.truthy(row and v.view.rows[row].ref, 'tree has a ref')
  T.await(function(cb)
    v.toggle(row, cb)
  end, 'the children')
  local text = table.concat(var_lines(), '\n')
  T.has(text, '▾ tree')
  T.has(text, "  ▸ 'a'")
  vim.cmd('close')
end)

T.test('the nvim-cmp source answers through the cmp API', function()
  local registered = {}
  package.loaded['cmp'] = { register_source = function(name, src)
    registered[name] = src
  end }
  T.truthy(require('asyncode.complete').register_cmp(), 'registered')
  package.loaded['cmp'] = nil
  local src = registered.asyncode
  T.truthy(src, 'the asyncode source')
  local b = T.buffer({ 'import os', 'ö = os.pa' })
  run_lines(b, 1, 1)
  T.truthy(src:is_available(), 'available in a python buffer')
  local line = vim.api.nvim_buf_get_lines(b, 1, 2, false)[1]
  local answer
  src:complete({ context = { bufnr = b, cursor_line = line, cursor = { row = 2, col = #line + 1 } } }, function(r)
    answer = r
  end)
  T.wait(function()
    return answer
  end, 'the cmp answer')
  local labels = vim.tbl_map(function(i)
    return i.label
  end, answer.items)
  T.truthy(vim.tbl_contains(labels, 'path'), 'os.path offered')
  local item = answer.items[1]
  -- "ö = os." is 7 characters in UTF-16 (ö is one unit)
  T.eq(7, item.textEdit.range.start.character)
end)
