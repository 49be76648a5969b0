-- Output streams in while code runs: order, batching, long output, later output of tasks.
local T = require('harness')

--- A gate the test opens (a file appears) and Python code waits on.
local function gate()
  local path = T.tmpdir() .. '/gate-' .. (vim.uv or vim.loop).hrtime()
  return path, function()
    local f = assert(io.open(path, 'w'))
    f:close()
  end
end

T.test('virtual lines grow in order while the code runs, then the result and duration', function()
  local path, open = gate()
  local b = T.buffer({
    'import asyncio, os',
    'print("first")',
    'while not os.path.exists(' .. vim.inspect(path) .. '):',
    '    await asyncio.sleep(0.01)',
    'print("second")',
    '"end"',
  })
  vim.cmd('1,6AsyncodeRun')
  local run = T.run_of(b)
  T.wait(function()
    return T.block(b, 5):find('│ first', 1, true)
  end, 'the first line under the code')
  local block = T.block(b, 5)
  T.has(block, 'running', 'a spinner while it runs')
  T.hasnt(block, 'second')
  T.eq('running', run.state)
  open()
  T.finished(run)
  block = T.block(b, 5)
  T.has(block, "│ first\n│ second\n└ ✓ 'end' · ")
  T.truthy(block:match('· %d+ ms$') or block:match('· [%d.]+ s$'), 'the duration at the end: ' .. block)
end)

T.test('a burst of output chunks costs far fewer redraws than chunks', function()
  local runs = require('asyncode.runs')
  local client = require('asyncode.client')
  local chunks = 0
  client.on(client.method.output, function()
    chunks = chunks + 1
  end)
  local b = T.buffer({
    'import asyncio',
    'for i in range(200):',
    '    print(i, flush=True)',
    '    await asyncio.sleep(0.002)',
  })
  local before = runs.stats.renders
  vim.cmd('1,4AsyncodeRun')
  local run = T.finished(T.run_of(b))
  local renders = runs.stats.renders - before
  T.truthy(chunks >= 100, 'many output notifications (' .. chunks .. ')')
  T.truthy(renders * 3 < chunks, string.format('%d redraws for %d chunks', renders, chunks))
  T.has(T.block(b, 3), '│ 199\n└ ✓')
  T.eq('ok', run.state)
end)

T.test('long output shows its last lines inline and everything in the output buffer', function()
  local b = T.buffer({ 'for i in range(50): print("row", i)' })
  vim.cmd('1AsyncodeRun')
  T.finished(T.run_of(b))
  local block = T.block(b, 0)
  T.has(block, '… 40 more lines in :AsyncodeOutput')
  T.hasnt(block, 'row 39\n')
  T.has(block, '│ row 40\n')
  T.has(block, '│ row 49\n└ ✓ done')
  local out = table.concat(T.output_lines(), '\n')
  for i = 0, 49 do
    T.has(out, 'row ' .. i .. '\n')
  end
end)

T.test('output a background task writes later goes under the block that started it', function()
  local path, open = gate()
  local b = T.buffer({
    'import asyncio, os',
    'async def later():',
    '    while not os.path.exists(' .. vim.inspect(path) .. '):',
    '        await asyncio.sleep(0.01)',
    '    print("from the task")',
    'task = asyncio.ensure_future(later())',
    '',
    'print("another run")',
  })
  vim.cmd('1,6AsyncodeRun')
  local a = T.finished(T.run_of(b))
  vim.cmd('8AsyncodeRun')
  local other = T.finished(T.run_of(b, a))
  T.eq('ok', other.state)
  open()
  T.wait(function()
    return T.block(b, 5):find('from the task', 1, true)
  end, 'the task output under the first block')
  T.hasnt(T.block(b, 7), 'from the task')
  T.has(T.block(b, 7), '│ another run')
  T.has(table.concat(T.output_lines(), '\n'), '(later) ──\nfrom the task')
end)

T.test('[rev1] stderr is shown apart from stdout, in the order written', function()
  local b = T.buffer({ 'import sys', 'print("out 1"); print("err 1", file=sys.stderr); print("out 2")' })
  vim.cmd('1,2AsyncodeRun')
  T.finished(T.run_of(b))
  T.has(T.block(b, 1), '│ out 1\n│ err 1\n│ out 2')
  local runs = require('asyncode.runs')
  local marks = vim.api.nvim_buf_get_extmarks(b, runs.ns, 0, -1, { details = true })
  local groups = {}
  for _, l in ipairs(marks[1][4].virt_lines) do
    groups[l[2][1]] = l[2][2]
  end
  T.eq('AsyncodeStderr', groups['err 1'])
  T.eq('AsyncodeOutput', groups['out 1'])
end)

T.test('a run sent while another runs shows queued, then runs', function()
  local path, open = gate()
  local b = T.buffer({
    'import asyncio, os',
    'while not os.path.exists(' .. vim.inspect(path) .. '):',
    '    await asyncio.sleep(0.01)',
    '',
    '"second"',
  })
  vim.cmd('1,3AsyncodeRun')
  local first = T.run_of(b)
  T.wait(function()
    return first.state == 'running'
  end, 'the first run to start')
  vim.cmd('5AsyncodeRun')
  local second = T.run_of(b, first)
  T.wait(function()
    return T.block(b, 4):find('⋯ queued', 1, true)
  end, 'the second run shown as queued')
  T.has(T.block(b, 2), 'running')
  open()
  T.finished(second)
  T.eq('ok', first.state)
  T.has(T.block(b, 4), "✓ 'second'")
end)
