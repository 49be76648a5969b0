-- Revision 1 against the real daemon: skipped (and counted) while it says revision 0.
-- rev1_fake_spec.lua covers the same paths against a stand-in daemon meanwhile.
local T = require('harness')

T.test('[rev1] execStart: the run knows its count before it writes anything', function()
  local seen
  local client = require('asyncode.client')
  client.on('output', function(p)
    if p.text and p.text:find('first words', 1, true) then
      local run = require('asyncode.runs').owner(p)
      seen = run and run.exec_count
    end
  end)
  local b = T.buffer({ 'print("first words")' })
  vim.cmd('1AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.truthy(seen, 'the count when the first output arrived')
  T.eq(run.exec_count, seen)
end)

T.test('[rev1] a failing asyncio task is a diagnostic on the line that raised', function()
  local b = T.buffer({
    'import asyncio',
    'async def boom():',
    '    raise ValueError("task boom")',
    'asyncio.ensure_future(boom())',
    'await asyncio.sleep(0.1)',
  })
  vim.cmd('1,5AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('ok', run.state, run.summary)
  T.wait(function()
    return #vim.diagnostic.get(b) == 1
  end, 'the task error diagnostic')
  local d = vim.diagnostic.get(b)[1]
  T.eq(2, d.lnum)
  T.eq('ValueError: task boom', d.message)
end)

T.test('[rev1] an updated display replaces itself under the code', function()
  local b = T.buffer({ 'h = display("first", display_id=True)', 'h.update("second")' })
  vim.cmd('1,2AsyncodeRun')
  local run = T.finished(T.run_of(b))
  T.eq('ok', run.state, run.summary)
  local block = T.block(b, 1)
  T.has(block, "│ 'second'")
  T.hasnt(block, "'first'")
end)

T.test('[rev1] a syntax error of exec is placed without asking compile', function()
  local client = require('asyncode.client')
  local compiles = 0
  local request = client.request
  client.request = function(method, ...)
    if method == 'compile' then
      compiles = compiles + 1
    end
    return request(method, ...)
  end
  local b = T.buffer({ 'x = 1', 'print("é", x y)' })
  vim.cmd('1,2AsyncodeRun')
  T.finished(T.run_of(b))
  client.request = request
  local d = vim.diagnostic.get(b)
  T.eq(1, #d)
  T.eq(0, compiles, 'no compile round trip')
  local line = vim.api.nvim_buf_get_lines(b, 1, 2, false)[1]
  T.eq(line:find('x y', 1, true) - 1, d[1].col)
  T.eq(line:find('x y', 1, true) + 2, d[1].end_col)
end)

T.test('[rev1] an error in a function from an earlier run: columns of the expression', function()
  local b = T.buffer({ '# ü', 'def f(a):', '    return a.b + 1', '', 'f(None)' })
  vim.cmd('2,3AsyncodeRun')
  T.finished(T.run_of(b))
  vim.cmd('5AsyncodeRun')
  T.finished(T.run_of(b))
  local d = vim.diagnostic.get(b)
  T.eq(1, #d)
  T.eq(2, d[1].lnum)
  T.eq({ 11, 14 }, { d[1].col, d[1].end_col }, 'a.b')
end)
