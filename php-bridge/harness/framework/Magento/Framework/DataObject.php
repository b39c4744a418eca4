<?php
/**
 * Stand-in for Magento's DataObject: a bag of named values. Written for this harness.
 */
declare(strict_types=1);

namespace Magento\Framework;

class DataObject
{
    /** @var array<string, mixed> */
    protected array $_data;

    /**
     * @param array<string, mixed> $data
     */
    public function __construct(array $data = [])
    {
        $this->_data = $data;
    }

    /**
     * @param string $key
     * @return mixed
     */
    public function getData($key = '')
    {
        return $key === '' ? $this->_data : ($this->_data[$key] ?? null);
    }

    /**
     * @return mixed
     */
    public function getId()
    {
        return $this->getData('id');
    }
}
