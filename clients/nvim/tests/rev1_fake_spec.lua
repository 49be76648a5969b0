-- Revision 1 paths against a stand-in daemon (tests/fake_rev1_daemon.py) that speaks it as
-- PROTOCOL.md says, while the real daemon still speaks revision 0. The schema does not list
-- revision 1's notifications yet either: this spec adds their names to the generated table
-- first, as the schema will (the real daemon's [rev1] tests in the other specs do not).
local T = require('harness')

local P = require('asyncode.protocol')
for _, name in ipairs({ 'execStart', 'clearOutput', 'taskError' }) do
  P.method[name] = P.method[name] or name
end

local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
require('asyncode.config').values.cmd = { 'python3', here .. '/fake_rev1_daemon.py' }

local client = require('asyncode.client')
local sent = {}
local request = client.request
client.request = function(method, params, cb, on_sent)
  if method == 'exec' then
    table.insert(sent, vim.deepcopy(params))
  end
  return request(method, params, cb, on_sent)
end

T.test('initialize: revision 1, columns in UTF-8 as asked', function()
  T.await(client.ensure, 'initialize')
  T.eq(1, client.revision())
  T.eq('utf-8', client.encoding())
end)

T.test('exec carries tag, firstLine and filename; execStart starts the spinner', function()
  local b = T.buffer({ '# a comment', 'print one', 'print two', 'result 42' }, 'rev1_a.py')
  vim.cmd('2,4AsyncodeRun')
  local run = T.finished(T.run_of(b))
  local p = sent[#sent]
  T.eq(run.tag, p.tag)
  T.eq(2, p.firstLine)
  T.eq(vim.api.nvim_buf_get_name(b), p.filename)
  T.eq(1, run.exec_count, 'execCount from execStart')
  T.has(T.block(b, 3), '│ one\n│ two\n└ ✓ 42 · 2 ms')
end)

T.test('an error is placed with firstLine and UTF-8 columns', function()
  local b = T.buffer({ 'x = 1', '', 'fail "é😀", 1/0' }, 'rev1_b.py')
  vim.cmd('3AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('error', run.state)
  local d = vim.diagnostic.get(b)
  T.eq(1, #d)
  T.eq(2, d[1].lnum)
  local line = vim.api.nvim_buf_get_lines(b, 2, 3, false)[1]
  local col = line:find('1/0', 1, true) - 1
  T.eq({ col, col + 3 }, { d[1].col, d[1].end_col })
end)

T.test('an indented selection: columns shift by the indentation removed', function()
  local b = T.buffer({ 'if True:', '    fail é 1/0' }, 'rev1_c.py')
  vim.cmd('2AsyncodeRun')
  T.finished(T.run_of(b))
  local d = vim.diagnostic.get(b)
  local line = vim.api.nvim_buf_get_lines(b, 1, 2, false)[1]
  T.eq(line:find('1/0', 1, true) - 1, d[1].col)
end)

T.test('taskError becomes a diagnostic; later output goes under the block', function()
  local b = T.buffer({ 'print start', 'taskerror 1/0', 'later from the task' }, 'rev1_d.py')
  vim.cmd('1,3AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('ok', run.state)
  T.wait(function()
    return #vim.diagnostic.get(b) == 1
  end, 'the task error diagnostic')
  T.eq(1, vim.diagnostic.get(b)[1].lnum)
  T.wait(function()
    return T.block(b, 2):find('from the task', 1, true)
  end, 'the later output')
  T.has(T.block(b, 2), '│ start\n│ from the task\n└ ✓')
end)

T.test('clearOutput empties the block', function()
  local b = T.buffer({ 'print old', 'clear', 'print new' }, 'rev1_e.py')
  vim.cmd('1,3AsyncodeRun')
  T.finished(T.run_of(b))
  local block = T.block(b, 2)
  T.hasnt(block, 'old')
  T.has(block, '│ new')
end)

T.test('an updated display replaces itself in the block', function()
  local b = T.buffer({ 'print before', 'display p 10%', 'update p 50%', 'update p 100%', 'print after',
    'update p done' }, 'rev1_g.py')
  vim.cmd('1,6AsyncodeRun')
  T.finished(T.run_of(b))
  local block = T.block(b, 5)
  T.has(block, '│ before\n│ 100%\n│ after\n│ done\n└ ✓')
  T.hasnt(block, '10%')
  T.hasnt(block, '50%')
end)

T.test('the variables tree expands entries with refs, level by level', function()
  T.buffer({ 'print x' }, 'rev1_f.py')
  T.await(require('asyncode').variables, 'the variables')
  local v = require('asyncode.variables')
  local function text()
    return table.concat(vim.api.nvim_buf_get_lines(v.view.buf, 0, -1, false), '\n')
  end
  T.has(text(), '▸ tree  dict len 2')
  local function toggle(row)
    T.await(function(cb)
      v.toggle(row, cb)
    end, 'the children')
  end
  toggle(1)
  T.has(text(), "▾ tree  dict len 2")
  T.has(text(), "  ▸ 'a'  dict len 1")
  T.has(text(), "  ▸ 'b'  list len 2")
  v.page_size = 1
  toggle(3) -- 'b', one item a page
  T.has(text(), "  ▾ 'b'  list len 2  [10, 20]\n      [0]  int  10\n      … 1 more (<CR>)")
  toggle(5) -- the "more" line
  T.has(text(), "      [0]  int  10\n      [1]  int  20")
  T.hasnt(text(), 'more')
  v.page_size = 100
  toggle(1) -- collapse
  T.eq(1, #vim.api.nvim_buf_get_lines(v.view.buf, 0, -1, false))
  vim.cmd('close')
end)
